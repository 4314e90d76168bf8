"""The demo's story, once the stage is set: install, orders, a parcel shipped, a buyer's cancellation,
stock, health.

The demo plays the install service, the inventory service and the order service (it
publishes their events) and watches what the worker publishes and what reaches the
Rakuten sandbox.
Every wait has a deadline; a missed one raises `DemoFailed` saying what was expected.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg

from events.outbound import INTEGRATION_VERIFICATION_FAILED, INTEGRATION_VERIFIED, ORDER_IMPORTED
from workers.demo.changes import buyer_cancels
from workers.demo.console import DemoFailed
from workers.demo.data import SALES, installed_event, order_lines
from workers.demo.shipping import ship_parcel
from workers.demo.stage import DEMO_INTERVALS, Stage
from workers.demo.stock import push_stock
from workers.demo.worker import http_get

VERIFY_TIMEOUT_S = 15.0  #: seconds for integration.verified to be published
ORDERS_TIMEOUT_S = 15.0  #: seconds for every order.imported
HEALTH_TIMEOUT_S = 10.0  #: seconds for /healthz to answer 200


def play(stage: Stage) -> None:
    """Tell the whole story; raise `DemoFailed` at the first thing that does not happen."""
    with psycopg.connect(stage.isolation.database_url, autocommit=True) as conn:
        install(stage)
        import_orders(stage)
        ship_parcel(stage, conn)
        buyer_cancels(stage)
        push_stock(stage, conn)
        show_health(stage)


def install(stage: Stage) -> None:
    """Publish `integration.installed` and wait for `integration.verified`."""
    console, shop = stage.console, stage.shop
    console.heading("1. The merchant installs the Rakuten app")
    stage.publish([installed_event(shop, stage.integration_id)])
    console.action(f"Published integration.installed: shop {shop.login!r}, token pasted with spaces,")
    console.detail("stock sync on (what the install service sends when the merchant clicks Confirm)")

    def outcome() -> dict[str, Any] | None:
        refused = stage.watcher.of_type(INTEGRATION_VERIFICATION_FAILED)
        if refused:
            data = refused[0]["data"]
            raise DemoFailed(f"integration.verification_failed: {data['reason']} ({data['detail']})")
        verified = stage.watcher.of_type(INTEGRATION_VERIFIED)
        return verified[0]["data"] if verified else None

    data = stage.wait("integration.verified", outcome, timeout=VERIFY_TIMEOUT_S)
    seller_id = data["rakuten_seller_id"]
    if seller_id != shop.seller_id:
        raise DemoFailed(f"verified with Rakuten seller id {seller_id}, expected {shop.seller_id}")
    console.done(f"Credentials verified: Rakuten seller id {seller_id} (integration.verified)")
    console.detail("checked with a read-only Rakuten call (getnewsales); the install page can now",
                   'say "Module installed correctly"')


def import_orders(stage: Stage) -> None:
    """Wait for one `order.imported` per seeded sale and print the orders."""
    console = stage.console
    interval = DEMO_INTERVALS["RAKUTEN_ORDER_POLL_INTERVAL_S"]
    console.heading(f"2. New Rakuten orders are imported (getnewsales every {interval}s)")

    def imported() -> list[dict[str, Any]] | None:
        events = stage.watcher.of_type(ORDER_IMPORTED)
        return events if len(events) >= len(SALES) else None

    events = stage.wait(f"{len(SALES)} order.imported events", imported, timeout=ORDERS_TIMEOUT_S)
    console.done(f"{len(events)} orders imported, one order.imported event each:")
    console.detail(*order_lines([event["data"]["order"] for event in events], arrow=console.arrow))


def show_health(stage: Stage) -> None:
    """Show `/healthz` and a few `/metrics` counters, as monitoring would see them."""
    console = stage.console
    base = f"http://127.0.0.1:{stage.metrics_port}"
    console.heading("6. What monitoring sees")

    def healthy() -> str | None:
        status, body = http_get(f"{base}/healthz")
        return body.strip() if status == 200 else None

    body = stage.wait("/healthz to answer 200", healthy, timeout=HEALTH_TIMEOUT_S)
    console.done(f"GET {base}/healthz {console.arrow} 200 {json.dumps(json.loads(body))}")
    _, text = http_get(f"{base}/metrics")
    totals = metric_totals(text)
    console.done(f"GET {base}/metrics (Prometheus), a few of its numbers:")
    console.detail(
        f"events consumed {totals.get('rakuten_events_consumed_total', 0):.0f}, "
        f"published {totals.get('rakuten_events_published_total', 0):.0f}, "
        f"outbox backlog {totals.get('rakuten_outbox_backlog', 0):.0f}",
        f"orders imported {totals.get('rakuten_orders_imported_total', 0):.0f}, "
        f"shipped items reported {totals.get('rakuten_shipment_items_total', 0):.0f}, "
        f"stock files sent {totals.get('rakuten_stock_files_sent_total', 0):.0f} "
        f"({totals.get('rakuten_stock_skus_sent_total', 0):.0f} lines)",
    )


def metric_totals(text: str) -> dict[str, float]:
    """Sum each metric's samples over its labels, from Prometheus' text format."""
    totals: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name_labels, _, value = line.rpartition(" ")
        name = name_labels.split("{", 1)[0]
        try:
            totals[name] = totals.get(name, 0.0) + float(value)
        except ValueError:
            continue
    return totals
