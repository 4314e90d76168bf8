"""The demo's after-the-import part: a buyer cancels an item on Rakuten, the platform hears of it."""

from __future__ import annotations

from typing import Any

from events.outbound import ORDER_IMPORTED, ORDER_UPDATED
from workers.demo.console import DemoFailed
from workers.demo.stage import DEMO_INTERVALS, Stage

UPDATE_TIMEOUT_S = 15.0  #: seconds for the order.updated of the cancellation


def buyer_cancels(stage: Stage) -> None:
    """Cancel a one-item order as its buyer, and wait for its `order.updated`.

    The two-item order is the shipping step's parcel: a shipped item can no longer be
    cancelled by its buyer, so the cancellation takes another order.
    """
    console = stage.console
    interval = DEMO_INTERVALS["RAKUTEN_ORDER_POLL_INTERVAL_S"]
    console.heading(f"4. A buyer cancels after the import (each poll compares, every {interval}s)")
    order = _order_of_one(stage)
    item = order["items"][0]
    stage.sandbox.buyer_cancel(stage.shop.login, item["item_id"])
    console.action(f"On Rakuten, the buyer of order #{order['order_id']} cancels its "
                   f"{item['sku']} (item {item['item_id']}), before the merchant accepted it")

    def updated() -> dict[str, Any] | None:
        for event in stage.watcher.of_type(ORDER_UPDATED):
            if event["data"]["order"]["order_id"] == order["order_id"]:
                return dict(event["data"])
        return None

    data = stage.wait("the order.updated of the cancellation", updated, timeout=UPDATE_TIMEOUT_S)
    changes = [(c["item_id"], c["from_status"], c["to_status"]) for c in data["changes"]]
    if changes != [(item["item_id"], "TO_CONFIRM", "CANCELLED")]:
        raise DemoFailed(f"order.updated reported {changes}, expected item {item['item_id']} cancelled")
    now = {i["item_id"]: i for i in data["order"]["items"]}[item["item_id"]]
    console.done(f"order.updated: item {item['item_id']} {item['status']} {console.arrow} CANCELLED "
                 f"({now['status_reason']}), before anyone shipped it")
    kept = [i for i in data["order"]["items"] if i["status"] != "CANCELLED"]
    console.detail(f"the whole order comes with it: {len(kept)} item left to ship, "
                   f"total {data['order']['total']['amount']} {data['order']['total']['currency']}")
    _no_repeat(stage, order["order_id"])


def _no_repeat(stage: Stage, order_id: str) -> None:
    """Let two more polls see the same cancellation: they publish nothing more."""
    def polls() -> int:
        return len(stage.sandbox.requests(login=stage.shop.login, action="getnewsales"))

    seen = polls()
    stage.wait("two more order polls", lambda: polls() >= seen + 2 or None, timeout=UPDATE_TIMEOUT_S)
    updates = [e for e in stage.watcher.of_type(ORDER_UPDATED) if e["data"]["order"]["order_id"] == order_id]
    if len(updates) != 1:
        raise DemoFailed(f"{len(updates)} order.updated events for one cancellation")
    stage.console.done("two more polls saw the same cancellation and published nothing more")


def _order_of_one(stage: Stage) -> dict[str, Any]:
    for event in stage.watcher.of_type(ORDER_IMPORTED):
        order = event["data"]["order"]
        if len(order["items"]) == 1 and order["items"][0]["status"] == "TO_CONFIRM":
            return dict(order)
    raise DemoFailed("no imported order has one item awaiting acceptance")
