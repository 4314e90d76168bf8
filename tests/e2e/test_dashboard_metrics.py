"""Every metric the Grafana dashboard and the alert rules read is one a real `run` exposes.

A renamed metric fails here, not on the night shift. `run` exposes a labelled
series only once it has a value, so the test first makes the service do each
thing the dashboard shows: events in, out, ignored and dead-lettered, an order
imported, a stock file with a rejected SKU, a quota hit, and an actor failing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pika
import psycopg
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from connectors.rakuten.sandbox import Sandbox
from events.publisher import publish_events
from tests.contract.dashboard import expressions, load, metric_names
from tests.contract.tools import ROOT
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
    stock_changed,
    wait_until,
)
from tests.fixtures.sandbox import SellerAccount
from tests.fixtures.services import ServiceUrls, VhostFactory

pytestmark = pytest.mark.slow

ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yaml"
#: Series Prometheus itself adds to every scrape, not the service.
FROM_PROMETHEUS = {"up"}


@pytest.fixture
def database(service_urls: ServiceUrls) -> Iterator[str]:
    with new_database(service_urls.database) as url:
        yield url


@pytest.fixture
def running(database: str, vhosts: VhostFactory, sandbox: Sandbox, tmp_path: Path) -> Iterator[RunProcess]:
    env = run_environment(database_url=database, amqp_url=vhosts.new(), rakuten_url=sandbox.url,
                          metrics_port=free_port())
    with start_run(env, tmp_path, "--threads", "4") as process:
        yield process


@pytest.fixture
def tap(running: RunProcess) -> Iterator[EventTap]:
    with event_tap(running.amqp_url, running.exchange) as events:
        yield events


def exposed(running: RunProcess) -> set[str]:
    """The names of the metric families and samples of `/metrics`."""
    text = running.get("/metrics").text
    return {name for family in text_string_to_metric_families(text)
            for name in (family.name, *(sample.name for sample in family.samples))}


def publish_garbage(running: RunProcess) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(running.amqp_url))
    try:
        connection.channel().basic_publish(running.exchange, "stock.changed", b"{not json")
    finally:
        connection.close()


def do_everything_the_dashboard_shows(
    running: RunProcess, tap: EventTap, sandbox: Sandbox, seller: SellerAccount
) -> None:
    integration_id = f"int-{uuid.uuid4().hex[:8]}"
    sandbox.add_sales(seller.login, [{"items": [{"sku": "SKU-1", "price": "12.50"}]}])
    sandbox.set_reject_skus(seller.login, ["SKU-2"])
    other_app = inbound("integration.installed",
                        {"integration_id": "x", "account_id": "acc-1", "app": "amazon"})
    publish_events(running.amqp_url, running.exchange, [
        installed(integration_id, "acc-1", seller.login, seller.token, stock_sync_enabled=True), other_app,
        stock_changed("acc-1", "SKU-1", 9), stock_changed("acc-1", "SKU-2", 1),
    ])
    publish_garbage(running)
    tap.wait_for(lambda e: e["type"] == "order.imported", "the order to be imported")
    tap.wait_for(lambda e: e["type"] == "stock.sync_failed", "SKU-2 to be rejected")
    sandbox.inject_fault(seller.login, "quota", actions=["getnewsales", "getcurrentsales"])
    wait_until(lambda: "rakuten_quota_hits_total" in exposed(running), "a quota hit on an order poll")
    # a token that no longer decrypts makes the next order poll's actor fail for good
    with psycopg.connect(running.env["DATABASE_URL"], autocommit=True) as conn:
        conn.execute("UPDATE integrations SET token_encrypted = 'garbage' WHERE integration_id = %s",
                     (integration_id,))


def test_every_metric_of_the_dashboard_and_the_alerts_is_exposed_by_run(
    running: RunProcess, tap: EventTap, sandbox: Sandbox, make_seller: Callable[..., SellerAccount],
) -> None:
    rules = [rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]]
    read = [*expressions(load()), *(rule["expr"] for rule in rules)]
    names = set().union(*(metric_names(expression) for expression in read)) - FROM_PROMETHEUS
    assert len(names) >= 20

    do_everything_the_dashboard_shows(running, tap, sandbox, make_seller(listings={"SKU-1": 5, "SKU-2": 3}))

    missing = set(names)

    def all_exposed() -> bool:
        missing.intersection_update(names - exposed(running))
        return not missing

    try:
        wait_until(all_exposed, "every metric of the dashboard and the alerts to be exposed")
    except AssertionError:
        raise AssertionError(f"read by the dashboard or the alerts, not exposed: {missing}") from None
