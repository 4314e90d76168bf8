"""Shipping confirmation: `order.shipped` told to Rakuten item by item, once, with one outcome.

The connector runs in the test's process against PostgreSQL and the sandbox over
HTTP (see `tests.flows.harness`); the sandbox counts every call per action and item.
"""

from __future__ import annotations

import argparse
import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from connectors.rakuten.sandbox import Sandbox
from db import shipments
from events.inbound import InboundEvent
from events.outbound_orders import shipment_confirmed_id, shipment_failed_id
from tests.flows.harness import World, event, install, world
from workers import runbook, scheduler
from workers.claims import claim_now
from workers.tasks import TASKS

TRACKING = "6A12345678901"


@pytest.fixture
def ws(fresh_database: str, sandbox: Sandbox) -> Iterator[World]:
    """A World that polls orders every 0.2 s and retries Rakuten after a few milliseconds."""
    with world(fresh_database, sandbox, rakuten_order_poll_interval_s=0.2, http_timeout=2.0) as built:
        yield built


@dataclass
class Shop:
    """A verified integration with one imported order."""

    integration_id: str
    account_id: str
    login: str
    order_id: str
    item_ids: list[str]


def shop_with_order(w: World, sandbox: Sandbox, statuses: Sequence[str], **install_extra: Any) -> Shop:
    """Install and verify a shop, then have one sale of items with these statuses imported."""
    suffix = uuid.uuid4().hex[:8]
    shop = Shop(f"int-{suffix}", f"acc-{suffix}", f"Shop{suffix}", "", [])
    token = f"tok-{suffix}"
    sandbox.add_seller(shop.login, token)
    w.apply(install(shop.integration_id, shop.account_id, shop.login, token, **install_extra))
    w.drive_until(lambda: w.outbox("integration.verified", shop.integration_id))
    items = [{"sku": f"SKU-{n}", "price": "9.90", "status": status} for n, status in enumerate(statuses)]
    [sale] = sandbox.add_sales(shop.login, [{"items": items}])
    shop.order_id, shop.item_ids = sale["purchase_id"], list(sale["item_ids"])
    w.drive_until(lambda: w.outbox("order.imported", shop.integration_id))
    return shop


def shipped(shop: Shop, *, id_: str | None = None, **data: Any) -> InboundEvent:
    """An `order.shipped` for the shop's order (every item, Colissimo, a tracking number)."""
    fields = {"integration_id": shop.integration_id, "account_id": shop.account_id, "app": "rakuten",
              "order_id": shop.order_id, "carrier": "colissimo", "tracking_number": TRACKING, **data}
    return event("order.shipped", {k: v for k, v in fields.items() if v is not None}, id_=id_)


def tracking_calls(sandbox: Sandbox, shop: Shop) -> dict[str, int]:
    """settrackingpackageinfos calls received per item id."""
    return dict(sandbox.calls(shop.login)["items"].get("settrackingpackageinfos", {}))


def confirmed(w: World, shop: Shop) -> list[dict[str, Any]]:
    return w.outbox("order.shipment_confirmed", shop.integration_id)


def failed(w: World, shop: Shop) -> list[dict[str, Any]]:
    return w.outbox("order.shipment_failed", shop.integration_id)


def test_an_order_of_three_items_shipped_with_one_event_makes_three_tracking_calls_and_one_confirmation(
    ws: World, sandbox: Sandbox
) -> None:
    shop = shop_with_order(ws, sandbox, ["ACCEPTED"] * 3)
    ws.apply(shipped(shop))
    [done] = ws.drive_until(lambda: confirmed(ws, shop))
    ws.drive_for(0.3)
    assert tracking_calls(sandbox, shop) == {item: 1 for item in shop.item_ids}
    assert confirmed(ws, shop) == [done] and failed(ws, shop) == []
    assert done["id"] == shipment_confirmed_id(shop.integration_id, shop.order_id, shop.item_ids, TRACKING)
    assert done["data"] == {
        "integration_id": shop.integration_id, "account_id": shop.account_id, "app": "rakuten",
        "order_id": shop.order_id, "item_ids": sorted(shop.item_ids), "carrier": "Colissimo",
        "tracking_number": TRACKING,
    }
    for item in shop.item_ids:
        tracking = sandbox.item(shop.login, item)["tracking"]
        assert (tracking["transporter_name"], tracking["tracking_number"]) == ("Colissimo", TRACKING)


def test_the_same_shipment_sent_twice_calls_rakuten_once_per_item_and_publishes_nothing_new(
    ws: World, sandbox: Sandbox
) -> None:
    shop = shop_with_order(ws, sandbox, ["ACCEPTED"] * 3)
    first = shipped(shop)
    # a redelivery (same id) and a second copy of the same shipment (another id), at once
    ws.apply(first, shipped(shop, id_=first.id), shipped(shop))
    ws.drive_until(lambda: confirmed(ws, shop))
    ws.apply(first)
    ws.apply(shipped(shop))
    ws.drive_for(0.5)
    assert tracking_calls(sandbox, shop) == {item: 1 for item in shop.item_ids}
    assert len(confirmed(ws, shop)) == 1 and failed(ws, shop) == []


def test_a_shipment_of_an_item_still_to_confirm_is_sent_right_after_the_item_is_accepted(
    ws: World, sandbox: Sandbox
) -> None:
    shop = shop_with_order(ws, sandbox, ["ACCEPTED", "TO_CONFIRM"])
    accepted, waiting = shop.item_ids
    ws.apply(shipped(shop))
    [first] = ws.drive_until(lambda: confirmed(ws, shop))
    assert first["data"]["item_ids"] == [accepted]
    ws.drive_for(0.6)  # polls go on: the item still waits, and Rakuten is not asked
    assert tracking_calls(sandbox, shop) == {accepted: 1}
    sandbox.set_item_status(shop.login, waiting, "ACCEPTED")  # the merchant accepts it on Rakuten
    ws.drive_until(lambda: len(confirmed(ws, shop)) == 2)
    later = confirmed(ws, shop)[1]
    assert later["data"]["item_ids"] == [waiting]
    assert later["id"] == shipment_confirmed_id(shop.integration_id, shop.order_id, [waiting], TRACKING)
    assert tracking_calls(sandbox, shop) == {accepted: 1, waiting: 1}
    refused = [r for r in sandbox.requests(login=shop.login, action="settrackingpackageinfos")
               if r["error_code"]]
    assert refused == [] and failed(ws, shop) == []


def test_an_item_accepted_by_the_automatic_acceptance_is_shipped_once_accepted(
    ws: World, sandbox: Sandbox
) -> None:
    shop = shop_with_order(ws, sandbox, ["TO_CONFIRM"], auto_accept_orders=True)
    ws.apply(shipped(shop))
    [done] = ws.drive_until(lambda: confirmed(ws, shop))
    assert done["data"]["item_ids"] == shop.item_ids
    assert tracking_calls(sandbox, shop) == {shop.item_ids[0]: 1}
    assert sandbox.calls(shop.login)["items"]["acceptsale"] == {shop.item_ids[0]: 1}


def test_a_carrier_spelled_mondial_relay_is_sent_as_mondial_relay(ws: World, sandbox: Sandbox) -> None:
    shop = shop_with_order(ws, sandbox, ["ACCEPTED"])
    ws.apply(shipped(shop, carrier="  mondial relay "))
    [done] = ws.drive_until(lambda: confirmed(ws, shop))
    assert done["data"]["carrier"] == "Mondial Relay"
    assert sandbox.item(shop.login, shop.item_ids[0])["tracking"]["transporter_name"] == "Mondial Relay"


def test_an_unknown_carrier_without_a_url_fails_tracking_url_required_without_calling_rakuten(
    ws: World, sandbox: Sandbox
) -> None:
    shop = shop_with_order(ws, sandbox, ["ACCEPTED", "ACCEPTED"])
    event_ = shipped(shop, carrier="Coursier du Marais")
    ws.apply(event_)
    ws.drive_for(0.3)
    [refusal] = failed(ws, shop)
    assert refusal["id"] == shipment_failed_id(shop.integration_id, event_.id, shop.item_ids)
    assert refusal["data"]["reason"] == "tracking_url_required"
    assert refusal["data"]["item_ids"] == sorted(shop.item_ids)
    assert "Coursier du Marais" in refusal["data"]["detail"]
    assert tracking_calls(sandbox, shop) == {} and confirmed(ws, shop) == []
    # the same carrier with its URL goes as "Autre"
    ws.apply(shipped(shop, carrier="Coursier du Marais", tracking_url="https://suivi.example/6A1"))
    [done] = ws.drive_until(lambda: confirmed(ws, shop))
    assert done["data"]["carrier"] == "Autre"
    tracking = sandbox.item(shop.login, shop.item_ids[0])["tracking"]
    assert (tracking["transporter_name"], tracking["tracking_url"]) == ("Autre", "https://suivi.example/6A1")


def test_an_order_never_imported_or_of_another_account_gets_unknown_order_without_calling_rakuten(
    ws: World, sandbox: Sandbox
) -> None:
    shop = shop_with_order(ws, sandbox, ["ACCEPTED"])
    never = shipped(shop, order_id="123456789", item_ids=["42"])
    elsewhere = shipped(shop, account_id="someone-else")
    ws.apply(never, elsewhere)
    ws.drive_for(0.3)
    refusals = {e["id"]: e["data"] for e in failed(ws, shop)}
    assert refusals == {
        shipment_failed_id(shop.integration_id, never.id, ["42"]): {
            "integration_id": shop.integration_id, "account_id": shop.account_id, "app": "rakuten",
            "order_id": "123456789", "item_ids": ["42"], "reason": "unknown_order",
            "detail": "no such order imported for this integration",
        },
        shipment_failed_id(shop.integration_id, elsewhere.id, []): {
            "integration_id": shop.integration_id, "account_id": "someone-else", "app": "rakuten",
            "order_id": shop.order_id, "item_ids": [], "reason": "unknown_order",
            "detail": "no such integration for this account",
        },
    }
    assert tracking_calls(sandbox, shop) == {} and confirmed(ws, shop) == []


def test_an_item_not_in_the_order_or_cancelled_fails_and_the_others_are_confirmed(
    ws: World, sandbox: Sandbox
) -> None:
    shop = shop_with_order(ws, sandbox, ["ACCEPTED", "ACCEPTED"])
    kept, cancelled = shop.item_ids
    sandbox.buyer_cancel(shop.login, cancelled)
    ws.drive_until(lambda: ws.scalar("SELECT status FROM order_items WHERE item_id = %s", cancelled)
                   == "CANCELLED")
    ws.apply(shipped(shop, item_ids=[kept, cancelled, "999999"]))
    [done] = ws.drive_until(lambda: confirmed(ws, shop))
    assert done["data"]["item_ids"] == [kept]
    reasons = {e["data"]["reason"]: e["data"]["item_ids"] for e in failed(ws, shop)}
    assert reasons == {"not_shippable": [cancelled], "unknown_order": ["999999"]}
    assert tracking_calls(sandbox, shop) == {kept: 1}


def test_rakuten_unavailable_during_the_shipment_delays_it_and_loses_nothing(
    ws: World, sandbox: Sandbox
) -> None:
    shop = shop_with_order(ws, sandbox, ["ACCEPTED"] * 3)
    sandbox.inject_fault(shop.login, "http500", count=4, actions=["settrackingpackageinfos"])
    ws.apply(shipped(shop))
    ws.step()
    ws.step()
    retried = ws.scalar("SELECT count(*) FROM shipment_items WHERE attempts > 0 AND state = 'due'")
    assert retried >= 1 and confirmed(ws, shop) == []
    [done] = ws.drive_until(lambda: confirmed(ws, shop))
    assert done["data"]["item_ids"] == sorted(shop.item_ids) and failed(ws, shop) == []
    calls = tracking_calls(sandbox, shop)
    assert sum(calls.values()) == 3 + 4 and set(calls) == set(shop.item_ids)
    assert all(sandbox.item(shop.login, item)["tracking"] for item in shop.item_ids)


def test_items_shipped_without_a_tracking_number_go_to_rakuten_in_one_shipping_file(
    ws: World, sandbox: Sandbox
) -> None:
    shop = shop_with_order(ws, sandbox, ["ACCEPTED", "ACCEPTED"])
    ws.apply(shipped(shop, tracking_number=None, carrier="Colissimo"))
    [done] = ws.drive_until(lambda: confirmed(ws, shop))
    assert done["data"]["item_ids"] == sorted(shop.item_ids) and done["data"]["tracking_number"] is None
    assert done["id"] == shipment_confirmed_id(shop.integration_id, shop.order_id, shop.item_ids, None)
    calls = sandbox.calls(shop.login)
    assert calls["actions"]["importitemshippingstatus"] == 1
    assert calls["items"]["importitemshippingstatus"] == {item: 1 for item in shop.item_ids}
    assert "settrackingpackageinfos" not in calls["actions"]
    assert {sandbox.item(shop.login, item)["tracking"]["via"] for item in shop.item_ids} == {
        "importitemshippingstatus"}


def test_an_item_not_accepted_within_the_hold_fails_not_shippable_without_a_call(
    fresh_database: str, sandbox: Sandbox
) -> None:
    with world(fresh_database, sandbox, rakuten_order_poll_interval_s=0.2,
               rakuten_shipment_hold_s=0.8) as w:
        shop = shop_with_order(w, sandbox, ["ACCEPTED", "TO_CONFIRM"])
        accepted, waiting = shop.item_ids
        event_ = shipped(shop)
        w.apply(event_)
        [done] = w.drive_until(lambda: confirmed(w, shop))
        [refusal] = w.drive_until(lambda: failed(w, shop))
    assert done["data"]["item_ids"] == [accepted]
    assert refusal["id"] == shipment_failed_id(shop.integration_id, event_.id, [waiting])
    assert (refusal["data"]["reason"], refusal["data"]["item_ids"]) == ("not_shippable", [waiting])
    assert refusal["data"]["detail"] == "the item was not accepted on Rakuten in time"
    assert tracking_calls(sandbox, shop) == {accepted: 1}


def test_copies_of_a_ship_message_call_rakuten_once_and_a_stale_one_not_at_all(
    ws: World, sandbox: Sandbox
) -> None:
    shop = shop_with_order(ws, sandbox, ["ACCEPTED"])
    ws.apply(shipped(shop))
    scheduler.tick(ws.ctx)
    [(shipment_id, item_id, stale)] = [args for name, args in ws.dispatch.tasks if name == "ship_item"]
    ws.dispatch.tasks.clear()
    # claimed again (as after a lost message's lease): the first message is stale now
    token = claim_now(ws.ctx, shipments.SHIP, [shipment_id, item_id])
    assert token == stale + 1
    assert TASKS["ship_item"].run(ws.ctx, shipment_id, item_id, stale) is None
    outcomes = [TASKS["ship_item"].run(ws.ctx, shipment_id, item_id, token) for _ in range(3)]
    assert outcomes == ["confirmed", None, None]
    assert tracking_calls(sandbox, shop) == {item_id: 1}
    assert len(confirmed(ws, shop)) == 1


def test_status_shows_items_waiting_for_acceptance_and_items_rakuten_could_not_be_told_yet(
    ws: World, sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    shop = shop_with_order(ws, sandbox, ["TO_CONFIRM", "ACCEPTED"])
    waiting, accepted = shop.item_ids
    sandbox.inject_fault(shop.login, "http500", count=100, actions=["settrackingpackageinfos"])
    ws.apply(shipped(shop))
    ws.drive_until(lambda: ws.scalar("SELECT attempts FROM shipment_items WHERE item_id = %s", accepted))

    runbook.status(ws.ctx.settings, argparse.Namespace(json=True))
    report = json.loads(capsys.readouterr().out)["shipments"]
    assert report["open_by_integration"] == {
        shop.integration_id: {"waiting_for_acceptance": 1, "to_tell_rakuten": 1}}
    steps = {step["item_id"]: step for step in report["oldest_open"]}
    assert (steps[waiting]["state"], steps[waiting]["item_status"]) == ("waiting", "TO_CONFIRM")
    assert steps[accepted]["state"] == "due" and steps[accepted]["attempts"] >= 1
    assert steps[accepted]["last_error"] == "RakutenUnavailable"

    runbook.status(ws.ctx.settings, argparse.Namespace(json=False))
    out = capsys.readouterr().out
    assert "shipments: 1 item(s) waiting for acceptance on Rakuten, 1 to tell Rakuten" in out
    assert f"item {waiting} (TO_CONFIRM): waiting for acceptance since" in out
    assert f"item {accepted} (ACCEPTED): to tell Rakuten (call) since" in out
    assert "last: RakutenUnavailable" in out
