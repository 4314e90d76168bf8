"""Rakuten's to-do list: one `order.attention_required` per change of an item's causes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from connectors.rakuten.sandbox import Sandbox
from events.outbound_orders import attention_required_id
from tests.flows.harness import World, world
from tests.flows.orders_world import Shop, changes, poll, updates, verified_shop
from workers import scheduler, todo

SALE = [{"purchase_id": "7001", "items": [
    {"item_id": "701", "sku": "MUG", "status": "ACCEPTED"},
    {"item_id": "702", "sku": "CUP", "status": "ACCEPTED"},
]}]


@pytest.fixture
def wt(fresh_database: str, sandbox: Sandbox) -> Iterator[World]:
    """A World that reads the to-do list every 0.1 s (order polls stay hourly: the tests poll)."""
    with world(fresh_database, sandbox, rakuten_todo_poll_interval_s=0.1) as built:
        yield built


def _attention(w: World, shop: Shop) -> list[dict[str, Any]]:
    return [e["data"] | {"id": e["id"]} for e in w.outbox("order.attention_required", shop.integration_id)]


def _reads(sandbox: Sandbox, shop: Shop) -> int:
    return int(sandbox.calls(shop.login)["actions"].get("getitemtodolist", 0))


def _settle(w: World, sandbox: Sandbox, shop: Shop, count: int) -> list[dict[str, Any]]:
    """Drive until `count` events, then through two more reads of the list: no more may come."""
    w.drive_until(lambda: len(_attention(w, shop)) >= count)
    reads = _reads(sandbox, shop)
    w.drive_until(lambda: _reads(sandbox, shop) >= reads + 2)
    found = _attention(w, shop)
    assert len(found) == count
    return found


def test_a_claim_opened_then_closed_is_two_order_updated_and_one_attention_per_change_of_causes(
    wt: World, sandbox: Sandbox
) -> None:
    shop = verified_shop(wt, sandbox)
    sandbox.add_sales(shop.login, SALE)
    poll(wt, shop)
    _settle(wt, sandbox, shop, 0)

    sandbox.open_claim(shop.login, "701")
    poll(wt, shop)
    [opened] = _settle(wt, sandbox, shop, 1)
    sandbox.close_claim(shop.login, "701")
    poll(wt, shop)
    _, closed = _settle(wt, sandbox, shop, 2)

    assert (opened["order_id"], opened["item_id"], opened["causes"]) == ("7001", "701", ["CLAIM"])
    assert opened["id"] == attention_required_id(shop.integration_id, "701", 1, ["CLAIM"])
    assert (closed["item_id"], closed["causes"]) == ("701", [])
    assert closed["id"] == attention_required_id(shop.integration_id, "701", 2, [])
    assert [changes(u) for u in updates(wt, shop)] == [
        [("701", "ACCEPTED", "PENDING_CLAIM")], [("701", "PENDING_CLAIM", "ACCEPTED")]
    ]


def test_unread_messages_come_and_go_as_changes_of_causes_and_are_never_read_by_us(
    wt: World, sandbox: Sandbox
) -> None:
    shop = verified_shop(wt, sandbox)
    sandbox.add_sales(shop.login, SALE)
    poll(wt, shop)
    sandbox.add_message(shop.login, "702", "buyer")
    _settle(wt, sandbox, shop, 1)
    sandbox.add_message(shop.login, "702", "customer_service")
    _settle(wt, sandbox, shop, 2)
    sandbox.read_messages(shop.login, "702")  # the merchant read them on Rakuten's site
    found = _settle(wt, sandbox, shop, 3)

    assert [(a["causes"], a["id"]) for a in found] == [
        (causes, attention_required_id(shop.integration_id, "702", n, causes))
        for n, causes in enumerate(
            [["UNREAD_MESSAGE_FROM_BUYER"],
             ["UNREAD_MESSAGE_FROM_BUYER", "UNREAD_MESSAGE_FROM_CUSTOMER_SERVICE"],
             []],
            start=1,
        )
    ]
    assert "getiteminfos" not in sandbox.calls(shop.login)["actions"]


def test_an_unchanged_to_do_list_writes_nothing_but_its_next_read(wt: World, sandbox: Sandbox) -> None:
    shop = verified_shop(wt, sandbox)
    sandbox.add_sales(shop.login, SALE)
    poll(wt, shop)
    sandbox.open_claim(shop.login, "701")
    _settle(wt, sandbox, shop, 1)
    before = wt.scalar("SELECT changed_at FROM item_attention WHERE integration_id = %s", shop.integration_id)
    outbox = wt.scalar("SELECT count(*) FROM outbox")

    reads = _reads(sandbox, shop)
    wt.drive_until(lambda: _reads(sandbox, shop) >= reads + 5)

    assert wt.scalar("SELECT changed_at FROM item_attention WHERE integration_id = %s",
                     shop.integration_id) == before
    assert wt.scalar("SELECT count(*) FROM outbox") == outbox


def test_copies_of_a_read_message_and_a_stale_one_read_the_list_once(w: World, sandbox: Sandbox) -> None:
    shop = verified_shop(w, sandbox)  # hourly reads: the first one is claimed here
    w.drive_until(lambda: _reads(sandbox, shop) >= 1)
    with w.pool.connection() as conn:  # due again now
        conn.execute("UPDATE integrations SET todo_due_at = now() WHERE integration_id = %s",
                     (shop.integration_id,))
    [(integration_id, token)] = scheduler.tick(w.ctx).todo_reads
    w.dispatch.tasks.clear()
    sandbox.open_claim(shop.login, _accepted_item(sandbox, shop))

    for stale_or_copy in (token - 1, token, token, token):
        todo.read_todo_list(w.ctx, integration_id, stale_or_copy)

    assert _reads(sandbox, shop) == 2
    assert len(_attention(w, shop)) == 1


def _accepted_item(sandbox: Sandbox, shop: Shop) -> str:
    [sale] = sandbox.add_sales(shop.login, [{"items": [{"sku": "MUG", "status": "ACCEPTED"}]}])
    return str(sale["item_ids"][0])
