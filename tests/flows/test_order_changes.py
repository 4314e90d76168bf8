"""Changes of imported orders reach the platform as `order.updated`, once each."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from connectors.rakuten.sandbox import Sandbox
from events.outbound_data import ItemChange
from events.outbound_orders import order_updated_id
from tests.flows.harness import World
from tests.flows.orders_world import changes, items, poll, updates, verified_shop

TWO_ACCEPTED = [{"purchase_id": "7001", "items": [
    {"item_id": "701", "sku": "MUG", "price": "10.5", "status": "ACCEPTED"},
    {"item_id": "702", "sku": "CUP", "price": "4.5", "status": "ACCEPTED"},
]}]
TWO_AWAITING = [{"purchase_id": "7101", "items": [
    {"item_id": "711", "sku": "MUG", "price": "10.5"},
    {"item_id": "712", "sku": "CUP", "price": "4.5"},
]}]


def _paris(days_ago: float) -> str:
    when = datetime.now(ZoneInfo("Europe/Paris")) - timedelta(days=days_ago)
    return when.strftime("%d/%m/%Y-%H:%M")


def test_a_buyer_cancelling_one_accepted_item_is_one_order_updated_and_later_polls_add_none(
    w: World, sandbox: Sandbox
) -> None:
    shop = verified_shop(w, sandbox)
    sandbox.add_sales(shop.login, TWO_ACCEPTED)
    poll(w, shop)
    assert len(w.outbox("order.imported", shop.integration_id)) == 1 and not updates(w, shop)

    sandbox.buyer_cancel(shop.login, "702")
    for _ in range(3):
        poll(w, shop)

    [event] = updates(w, shop)
    assert changes(event) == [("702", "ACCEPTED", "CANCELLED")]
    expected = [ItemChange(item_id="702", from_status="ACCEPTED", to_status="CANCELLED")]
    assert event["id"] == order_updated_id(shop.integration_id, "7001", expected)
    order = items(event)
    assert (order["701"]["status"], order["702"]["status"]) == ("ACCEPTED", "CANCELLED")
    assert event["data"]["order"]["status"] == "accepted"
    assert w.scalar("SELECT status FROM order_items WHERE item_id = '702' AND integration_id = %s",
                    shop.integration_id) == "CANCELLED"


def test_a_buyer_cancelling_an_item_awaiting_acceptance_is_to_confirm_to_cancelled(
    w: World, sandbox: Sandbox
) -> None:
    shop = verified_shop(w, sandbox)
    sandbox.add_sales(shop.login, TWO_AWAITING)
    poll(w, shop)
    sandbox.buyer_cancel(shop.login, "712")
    poll(w, shop)
    poll(w, shop)

    [event] = updates(w, shop)
    assert changes(event) == [("712", "TO_CONFIRM", "CANCELLED")]
    assert items(event)["712"]["status_reason"] == "cancelled_by_buyer"
    assert event["data"]["order"]["status"] == "new"  # 711 still awaits acceptance


def test_an_item_vanishing_from_new_sales_before_acceptance_is_a_buyer_cancellation(
    w: World, sandbox: Sandbox
) -> None:
    shop = verified_shop(w, sandbox)
    sandbox.add_sales(shop.login, TWO_AWAITING)
    poll(w, shop)
    sandbox.buyer_cancel(shop.login, "711", visible=False)  # Rakuten drops it from the sale
    poll(w, shop)
    poll(w, shop)

    [event] = updates(w, shop)
    assert changes(event) == [("711", "TO_CONFIRM", "CANCELLED")]
    order = items(event)
    assert set(order) == {"711", "712"}  # the order keeps the item Rakuten no longer shows
    assert (order["711"]["status"], order["711"]["status_reason"]) == ("CANCELLED", "cancelled_by_buyer")
    assert order["712"]["status_reason"] is None


def test_a_sale_leaving_new_sales_unaccepted_after_two_days_lapsed(w: World, sandbox: Sandbox) -> None:
    shop = verified_shop(w, sandbox)
    sale = [{**TWO_AWAITING[0], "purchased_at": _paris(days_ago=3)}]
    sandbox.add_sales(shop.login, sale)
    poll(w, shop)
    sandbox.lapse(shop.login, "7101")
    poll(w, shop)
    poll(w, shop)

    [event] = updates(w, shop)
    assert sorted(changes(event)) == [("711", "TO_CONFIRM", "CANCELLED"), ("712", "TO_CONFIRM", "CANCELLED")]
    assert {i["status_reason"] for i in items(event).values()} == {"lapsed"}


def test_a_whole_sale_vanishing_within_two_days_was_cancelled_by_the_buyer(
    w: World, sandbox: Sandbox
) -> None:
    shop = verified_shop(w, sandbox)
    sandbox.add_sales(shop.login, [{**TWO_AWAITING[0], "purchased_at": _paris(days_ago=0.5)}])
    poll(w, shop)
    for item_id in ("711", "712"):
        sandbox.buyer_cancel(shop.login, item_id, visible=False)
    poll(w, shop)

    [event] = updates(w, shop)
    assert {i["status_reason"] for i in items(event).values()} == {"cancelled_by_buyer"}


def test_an_item_added_to_a_known_purchase_is_one_change_from_null(w: World, sandbox: Sandbox) -> None:
    shop = verified_shop(w, sandbox)
    sandbox.add_sales(shop.login, TWO_ACCEPTED)
    poll(w, shop)
    sandbox.add_items(shop.login, "7001", [{"item_id": "703", "sku": "MUG", "price": "10.5",
                                             "status": "ACCEPTED"}])
    poll(w, shop)
    poll(w, shop)

    [event] = updates(w, shop)
    assert changes(event) == [("703", None, "ACCEPTED")]
    assert set(items(event)) == {"701", "702", "703"}
    assert event["data"]["order"]["total"] == {"amount": "25.5", "currency": "EUR"}
    assert len(w.outbox("order.imported", shop.integration_id)) == 1
    assert w.scalar("SELECT count(*) FROM order_items WHERE integration_id = %s", shop.integration_id) == 3


def test_a_claim_opened_then_closed_is_two_order_updated(w: World, sandbox: Sandbox) -> None:
    shop = verified_shop(w, sandbox)
    sandbox.add_sales(shop.login, TWO_ACCEPTED)
    poll(w, shop)
    sandbox.open_claim(shop.login, "701")
    poll(w, shop)
    poll(w, shop)
    sandbox.close_claim(shop.login, "701")
    poll(w, shop)
    poll(w, shop)

    assert [changes(e) for e in updates(w, shop)] == [
        [("701", "ACCEPTED", "PENDING_CLAIM")],
        [("701", "PENDING_CLAIM", "ACCEPTED")],
    ]
    assert w.scalar("SELECT count(*) FROM order_changes WHERE integration_id = %s", shop.integration_id) == 2


def test_every_change_is_recorded_with_the_id_of_the_event_that_reported_it(
    w: World, sandbox: Sandbox
) -> None:
    shop = verified_shop(w, sandbox)
    sandbox.add_sales(shop.login, TWO_ACCEPTED)
    poll(w, shop)
    sandbox.buyer_cancel(shop.login, "701")
    sandbox.open_claim(shop.login, "702")
    poll(w, shop)

    [event] = updates(w, shop)  # one event per order and poll, however many items changed
    assert sorted(changes(event)) == [("701", "ACCEPTED", "CANCELLED"), ("702", "ACCEPTED", "PENDING_CLAIM")]
    query = "SELECT array_agg(DISTINCT event_id) FROM order_changes WHERE integration_id = %s"
    recorded = w.scalar(query, shop.integration_id)
    assert recorded == [event["id"]]
