"""What an `order.shipped` makes of each item before any call to Rakuten."""

from __future__ import annotations

from events.outbound_orders import shipment_failed_id
from workers.shipping.intake import AT_ONCE, FIRST_BATCH, plan_items, wanted_items
from workers.shipping.outcomes import Failure, failure_events

STATUSES = {"1": "ACCEPTED", "2": "TO_CONFIRM", "3": "CANCELLED", "4": "REFUSED", "5": "PENDING_CLAIM"}


def test_an_event_without_items_ships_every_item_that_has_not_ended() -> None:
    assert wanted_items(None, STATUSES) == ["1", "2", "5"]
    assert wanted_items([], STATUSES) == ["1", "2", "5"]
    assert wanted_items(["3", "1"], STATUSES) == ["3", "1"]


def test_an_event_without_items_on_an_order_whose_items_all_ended_names_them_all() -> None:
    assert wanted_items(None, {"3": "CANCELLED", "4": "REFUSED"}) == ["3", "4"]


def test_accepted_items_are_due_at_once_and_items_awaiting_acceptance_wait() -> None:
    plan = plan_items(["1", "2", "5"], STATUSES, set(), url_missing=None)
    assert [(s.item_id, s.state, s.batch) for s in plan.steps] == [
        ("1", "due", FIRST_BATCH), ("2", "waiting", None), ("5", "waiting", None),
    ]
    assert plan.failures == [] and plan.unknown == [] and plan.covered == []


def test_cancelled_and_refused_items_fail_not_shippable_and_unknown_items_unknown_order() -> None:
    plan = plan_items(["1", "3", "4", "99"], STATUSES, set(), url_missing=None)
    assert [(s.item_id, s.state) for s in plan.steps] == [("1", "due"), ("3", "failed"), ("4", "failed")]
    assert plan.failures == [
        Failure("3", "not_shippable", "the item is CANCELLED on Rakuten"),
        Failure("4", "not_shippable", "the item is REFUSED on Rakuten"),
        Failure("99", "unknown_order", "the item is not in the order"),
    ]
    assert all(s.batch == AT_ONCE for s in plan.steps if s.state == "failed")


def test_a_missing_tracking_url_for_autre_fails_every_known_item_before_any_call() -> None:
    plan = plan_items(["1", "2", "99"], STATUSES, set(), url_missing="needs a URL")
    assert [(f.item_id, f.reason) for f in plan.failures] == [
        ("1", "tracking_url_required"), ("2", "tracking_url_required"), ("99", "unknown_order"),
    ]
    assert not [s for s in plan.steps if s.state != "failed"]


def test_items_an_earlier_shipment_tells_are_left_to_it() -> None:
    plan = plan_items(["1", "2"], STATUSES, {"1"}, url_missing=None)
    assert plan.covered == ["1"]
    assert [s.item_id for s in plan.steps] == ["2"]


def test_failures_become_one_event_per_reason_with_the_contracts_id() -> None:
    events = failure_events(
        integration_id="int-1", account_id="acc-1", shipped_event_id="evt-1", order_id="900",
        failures=[Failure("4", "not_shippable", "the item is REFUSED on Rakuten"),
                  Failure("99", "unknown_order", "the item is not in the order"),
                  Failure("3", "not_shippable", "the item is CANCELLED on Rakuten")],
    )
    assert [(e["type"], e["data"]["reason"], e["data"]["item_ids"]) for e in events] == [
        ("order.shipment_failed", "not_shippable", ["3", "4"]),
        ("order.shipment_failed", "unknown_order", ["99"]),
    ]
    assert events[0]["data"]["detail"] == "the item is CANCELLED on Rakuten; the item is REFUSED on Rakuten"
    assert [e["id"] for e in events] == [
        shipment_failed_id("int-1", "evt-1", ["4", "3"]), shipment_failed_id("int-1", "evt-1", ["99"]),
    ]
