"""The demo's shipping step: a parcel shipped before Rakuten accepted the sale, then confirmed.

The demo plays the platform's order service (it publishes `order.shipped`) and the
merchant on Rakuten's site (it accepts the sale in the sandbox); the worker holds
the shipment until the next order poll sees the acceptance, then tells Rakuten each
item's tracking once and publishes `order.shipment_confirmed`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg

from events.outbound import ORDER_IMPORTED, ORDER_SHIPMENT_CONFIRMED, ORDER_SHIPMENT_FAILED
from workers.demo.console import DemoFailed
from workers.demo.data import ACCOUNT_ID
from workers.demo.stage import DEMO_INTERVALS, Stage

CARRIER = "colissimo"  #: as the platform names it; Rakuten's spelling is "Colissimo"
TRACKING_NUMBER = "6A20261234567"
HOLD_TIMEOUT_S = 10.0  #: seconds for the shipment to be stored and held
CONFIRM_TIMEOUT_S = 15.0  #: seconds for order.shipment_confirmed after the acceptance
WAITING = "SELECT count(*) FROM shipment_items WHERE state = 'waiting' AND integration_id = %s"


def ship_parcel(stage: Stage, conn: psycopg.Connection[Any]) -> None:
    """Ship the order of two items before its acceptance; wait for `order.shipment_confirmed`."""
    console, shop = stage.console, stage.shop
    console.heading("3. A parcel is shipped: Rakuten gets the tracking of each item, once")
    order = _two_item_order(stage)
    items = [item["item_id"] for item in order["items"]]
    stage.publish([_shipped_event(stage.integration_id, order["order_id"])])
    console.action(f"Published order.shipped: order #{order['order_id']}, carrier {CARRIER!r}, "
                   f"tracking {TRACKING_NUMBER}")

    def held() -> int | None:
        row = conn.execute(WAITING, (stage.integration_id,)).fetchone()
        return int(row[0]) if row and row[0] == len(items) else None

    stage.wait("the shipment to be held", held, timeout=HOLD_TIMEOUT_S)
    console.done(f"Held: Rakuten has not accepted the sale yet, so its {len(items)} items wait")
    for item in items:
        stage.sandbox.set_item_status(shop.login, item, "ACCEPTED")
    interval = DEMO_INTERVALS["RAKUTEN_ORDER_POLL_INTERVAL_S"]
    console.action(f"The merchant accepts the sale on Rakuten's site; the next order poll "
                   f"(within {interval}s) sees it")
    data = stage.wait("order.shipment_confirmed", lambda: _outcome(stage), timeout=CONFIRM_TIMEOUT_S)
    calls = stage.sandbox.calls(shop.login)["items"].get("settrackingpackageinfos", {})
    console.done(f"Rakuten took the shipment of items {', '.join(data['item_ids'])} "
                 f"(order.shipment_confirmed, carrier {data['carrier']!r})")
    console.detail(*(_tracking_line(stage, item, calls.get(item, 0)) for item in items))


def _two_item_order(stage: Stage) -> dict[str, Any]:
    for event in stage.watcher.of_type(ORDER_IMPORTED):
        order: dict[str, Any] = event["data"]["order"]
        if len(order["items"]) == 2:
            return order
    raise DemoFailed("no imported order has two items to ship")


def _shipped_event(integration_id: str, order_id: str) -> dict[str, Any]:
    return {
        "specversion": "1.0", "id": str(uuid.uuid4()), "source": "demo/order-service",
        "type": "order.shipped", "time": datetime.now(UTC).isoformat(), "datacontenttype": "application/json",
        "data": {"integration_id": integration_id, "account_id": ACCOUNT_ID, "app": "rakuten",
                 "order_id": order_id, "carrier": CARRIER, "tracking_number": TRACKING_NUMBER},
    }


def _outcome(stage: Stage) -> dict[str, Any] | None:
    refused = stage.watcher.of_type(ORDER_SHIPMENT_FAILED)
    if refused:
        data = refused[0]["data"]
        raise DemoFailed(f"order.shipment_failed: {data['reason']} ({data['detail']})")
    confirmed = stage.watcher.of_type(ORDER_SHIPMENT_CONFIRMED)
    return confirmed[0]["data"] if confirmed else None


def _tracking_line(stage: Stage, item_id: str, calls: int) -> str:
    tracking = stage.sandbox.item(stage.shop.login, item_id)["tracking"] or {}
    return (f"item {item_id} on Rakuten: {tracking.get('transporter_name')} "
            f"{tracking.get('tracking_number')} ({calls} settrackingpackageinfos call)")
