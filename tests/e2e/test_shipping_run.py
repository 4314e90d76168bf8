"""Shipping through `rakuten-worker run`: a worker SIGKILLed mid-shipment tells Rakuten once per item.

`run` is a subprocess on a database and a vhost of its own, against the sandbox,
with one worker thread: while that thread waits for a hanging Rakuten answer (an
order poll), the shipment's calls are claimed and queued behind it, and the worker
is killed then. The replacement takes the queued work; no call is in flight at the
kill, so each item must reach Rakuten exactly once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from connectors.rakuten.sandbox import Sandbox
from events.publisher import publish_events
from tests.e2e.helpers import (
    EventTap,
    RunProcess,
    event_tap,
    free_port,
    inbound,
    installed,
    new_database,
    run_environment,
    start_run,
    wait_until,
)
from tests.e2e.reliability_helpers import hang_taken, kill_part, wait_replaced
from tests.fixtures.sandbox import SellerAccount
from tests.fixtures.services import ServiceUrls, VhostFactory

pytestmark = pytest.mark.slow

TRACKING = "6A20260000042"


@pytest.fixture
def database(service_urls: ServiceUrls) -> Iterator[str]:
    with new_database(service_urls.database) as url:
        yield url


@pytest.fixture
def running(database: str, vhosts: VhostFactory, sandbox: Sandbox, tmp_path: Path) -> Iterator[RunProcess]:
    env = run_environment(database_url=database, amqp_url=vhosts.new(), rakuten_url=sandbox.url,
                          metrics_port=free_port(), RAKUTEN_RETRY_BASE_S="0.05",
                          # the order poll the kill interrupts is claimed again within seconds
                          WORK_LEASE_S="5")
    with start_run(env, tmp_path, "--threads", "1") as process:
        yield process


@pytest.fixture
def tap(running: RunProcess) -> Iterator[EventTap]:
    with event_tap(running.amqp_url, running.exchange) as events:
        yield events


def of(type_: str, integration_id: str) -> Any:
    return lambda event: event["type"] == type_ and event["data"]["integration_id"] == integration_id


def claimed(database: str, item_ids: list[str]) -> bool:
    with psycopg.connect(database) as conn:
        row = conn.execute("SELECT count(*) FROM shipment_items WHERE item_id = ANY(%s) AND lease_token > 0",
                           (item_ids,)).fetchone()
    return bool(row and row[0] == len(item_ids))


def test_a_worker_sigkilled_mid_shipment_then_restarted_tells_rakuten_exactly_once_per_item(
    running: RunProcess, tap: EventTap, sandbox: Sandbox, seller: SellerAccount, database: str
) -> None:
    statuses = ["ACCEPTED", "ACCEPTED", "TO_CONFIRM", "TO_CONFIRM"]
    [sale] = sandbox.add_sales(seller.login, [{"items": [
        {"sku": f"SKU-{n}", "price": "9.90", "status": status} for n, status in enumerate(statuses)]}])
    first, second, third, fourth = sale["item_ids"]
    integration_id = f"int-{uuid.uuid4().hex[:8]}"
    publish_events(running.amqp_url, running.exchange,
                   [installed(integration_id, "acc-1", seller.login, seller.token)])
    tap.wait_for(of("order.imported", integration_id), "order.imported")

    # the worker's one thread waits for a hanging order poll...
    sandbox.inject_fault(seller.login, "hang", hang_s=15.0, actions=["getnewsales"])
    wait_until(lambda: hang_taken(sandbox, seller.login), "an order poll to hang", every=0.02)
    # ...while the shipment arrives twice, and its accepted items' calls are claimed and queued
    shipped = inbound("order.shipped", {
        "integration_id": integration_id, "account_id": "acc-1", "app": "rakuten",
        "order_id": sale["purchase_id"], "carrier": "Chronopost", "tracking_number": TRACKING})
    publish_events(running.amqp_url, running.exchange, [shipped, shipped])
    wait_until(lambda: claimed(database, [first, second]), "the calls of the accepted items to be claimed")
    sandbox.set_item_status(seller.login, third, "ACCEPTED")  # accepted on Rakuten meanwhile
    wait_replaced(running, "worker", kill_part(running, "worker"))

    tap.wait_for(of("order.shipment_confirmed", integration_id), "two confirmations", count=2)
    sandbox.set_item_status(seller.login, fourth, "ACCEPTED")
    events = tap.wait_for(of("order.shipment_confirmed", integration_id), "three confirmations", count=3)

    calls = sandbox.calls(seller.login)["items"]["settrackingpackageinfos"]
    assert calls == {first: 1, second: 1, third: 1, fourth: 1}
    assert sorted(sorted(e["data"]["item_ids"]) for e in events) == sorted(
        [sorted([first, second]), [third], [fourth]])
    assert len({e["id"] for e in events}) == 3
    assert not [e for e in tap.poll() if e["type"] == "order.shipment_failed"]
    assert all(sandbox.item(seller.login, item)["tracking"]["transporter_name"] == "Chronopost"
               for item in sale["item_ids"])
