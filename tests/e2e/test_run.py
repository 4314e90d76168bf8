"""`rakuten-worker run` as operators run it: supervision, graceful stop, metrics and health.

Each test starts `python -m workers run` as a subprocess on an empty database of
its own (which `run` migrates), a fresh vhost and the sandbox.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import psycopg
import pytest
from psycopg import sql

from connectors.rakuten.sandbox import Sandbox
from events.publisher import publish_events
from tests.e2e.helpers import (
    EventTap,
    RunProcess,
    event_tap,
    free_port,
    installed,
    is_running,
    metric,
    new_database,
    run_environment,
    scrape,
    start_run,
    stock_changed,
    wait_until,
)
from tests.fixtures.sandbox import SellerAccount
from tests.fixtures.services import ServiceUrls, VhostFactory

pytestmark = pytest.mark.slow

PARTS = {"ingress", "worker", "scheduler"}
#: seconds `run` may take to stop when nothing hangs (its hard bound is 40 s, then SIGKILL)
STOP_BOUND_S = 15.0


@pytest.fixture
def database(service_urls: ServiceUrls) -> Iterator[str]:
    with new_database(service_urls.database) as url:
        yield url


@pytest.fixture
def env(database: str, vhosts: VhostFactory, sandbox: Sandbox) -> dict[str, str]:
    return run_environment(database_url=database, amqp_url=vhosts.new(), rakuten_url=sandbox.url,
                           metrics_port=free_port())


@pytest.fixture
def running(env: dict[str, str], tmp_path: Path) -> Iterator[RunProcess]:
    with start_run(env, tmp_path, "--threads", "4") as process:
        yield process


@pytest.fixture
def tap(running: RunProcess) -> Iterator[EventTap]:
    with event_tap(running.amqp_url, running.exchange) as events:
        yield events


def of(type_: str, integration_id: str) -> Callable[[dict[str, Any]], bool]:
    """Match outbound events of `type_` about `integration_id`."""
    return lambda event: event["type"] == type_ and event["data"]["integration_id"] == integration_id


def install_with_a_sale(running: RunProcess, sandbox: Sandbox, seller: SellerAccount, **extra: Any) -> str:
    """Seed one sale at Rakuten and publish an install; return the integration id."""
    sandbox.add_sales(seller.login, [{"items": [{"sku": "SKU-1", "price": "12.50"}]}])
    integration_id = f"int-{uuid.uuid4().hex[:8]}"
    publish_events(running.amqp_url, running.exchange,
                   [installed(integration_id, "acc-1", seller.login, seller.token, **extra)])
    return integration_id


def assert_system_works(running: RunProcess, tap: EventTap, sandbox: Sandbox, seller: SellerAccount) -> None:
    """An install gets verified and its order imported: ingress, worker, scheduler and relay all run."""
    integration_id = install_with_a_sale(running, sandbox, seller)
    tap.wait_for(of("integration.verified", integration_id), "integration.verified")
    tap.wait_for(of("order.imported", integration_id), "order.imported")


@pytest.mark.parametrize("part", sorted(PARTS))
def test_run_restarts_a_part_killed_with_sigkill_and_the_system_still_works(
    running: RunProcess, tap: EventTap, sandbox: Sandbox,
    make_seller: Callable[..., SellerAccount], part: str,
) -> None:
    assert set(running.children().values()) == PARTS
    victim = running.child(part)

    os.kill(victim, signal.SIGKILL)

    replacement = wait_until(
        lambda: next((pid for pid, name in running.children().items() if name == part and pid != victim),
                     None),
        f"a new {part} process",
    )
    assert not is_running(victim)
    assert replacement != victim
    assert f"{part} exited with code -9; restarting" in running.log()
    wait_until(lambda: running.health()[0] == 200, "/healthz to answer 200 again")
    assert set(running.children().values()) == PARTS
    assert_system_works(running, tap, sandbox, make_seller(listings={"SKU-1": 5}))


def test_a_worker_killed_mid_message_leaves_no_message_counted_in_progress(
    running: RunProcess, tap: EventTap, sandbox: Sandbox, make_seller: Callable[..., SellerAccount],
) -> None:
    seller = make_seller()
    sandbox.inject_fault(seller.login, "hang", hang_s=30, actions=["getnewsales"])
    integration_id = f"int-{uuid.uuid4().hex[:8]}"
    publish_events(running.amqp_url, running.exchange,
                   [installed(integration_id, "acc-1", seller.login, seller.token)])
    wait_until(lambda: fault_taken(sandbox, seller.login), "the verification to call Rakuten")
    wait_until(lambda: metric(scrape(running), "dramatiq_messages_inprogress", actor_name="verify") == 1,
               "the verification to be counted in progress")

    os.kill(running.child("worker"), signal.SIGKILL)

    wait_until(lambda: running.health()[0] == 200, "the worker to be replaced")
    # RabbitMQ hands the unacknowledged message to the new worker, which finds the claim
    # started and does nothing; the scheduler claims the verification again once its
    # lease (WORK_LEASE_S) ends, and the new worker verifies the seller
    tap.wait_for(of("integration.verified", integration_id), "integration.verified")
    wait_until(lambda: metric(scrape(running), "dramatiq_messages_inprogress", actor_name="verify") == 0,
               "the killed worker's message to leave the in-progress gauge")


def test_sigterm_stops_run_with_exit_code_0_within_the_bound_and_leaves_no_child(
    running: RunProcess, tap: EventTap, sandbox: Sandbox, make_seller: Callable[..., SellerAccount],
) -> None:
    assert_system_works(running, tap, sandbox, make_seller(listings={"SKU-1": 5}))
    children = running.children()
    assert set(children.values()) == PARTS
    started = time.monotonic()

    running.process.send_signal(signal.SIGTERM)

    code = running.process.wait(STOP_BOUND_S + 30)
    took = time.monotonic() - started
    assert code == 0
    assert took < STOP_BOUND_S, f"run took {took:.1f}s to stop"
    assert [pid for pid in children if is_running(pid)] == []
    log = running.log()
    assert "all parts stopped" in log
    assert "did not stop within" not in log
    for part in PARTS:
        assert f"{part} exited with code" not in log, "a part died instead of stopping"


def test_sigterm_lets_an_actor_waiting_on_rakuten_finish_before_exiting_0(
    running: RunProcess, sandbox: Sandbox, make_seller: Callable[..., SellerAccount], database: str,
) -> None:
    seller = make_seller()
    sandbox.inject_fault(seller.login, "hang", hang_s=3, actions=["getnewsales"])
    integration_id = f"int-{uuid.uuid4().hex[:8]}"
    publish_events(running.amqp_url, running.exchange,
                   [installed(integration_id, "acc-1", seller.login, seller.token)])
    wait_until(lambda: fault_taken(sandbox, seller.login), "the verification to call Rakuten")
    started = time.monotonic()

    running.process.send_signal(signal.SIGTERM)

    assert running.process.wait(STOP_BOUND_S + 30) == 0
    assert time.monotonic() - started < STOP_BOUND_S
    with psycopg.connect(database) as conn:
        row = conn.execute("SELECT status FROM integrations WHERE integration_id = %s",
                           (integration_id,)).fetchone()
    assert row == ("verified",), "the running verification finished instead of being killed"
    log = running.log()
    assert log.index("integration verified") < log.index("worker stopped")
    assert "did not stop within" not in log


def fault_taken(sandbox: Sandbox, login: str) -> bool:
    """Whether the seller's injected fault was consumed, i.e. the call it delays has started."""
    with sandbox.state.seller(login) as seller:
        return not seller.faults


def test_metrics_show_business_counters_moving_during_the_run(
    running: RunProcess, tap: EventTap, sandbox: Sandbox, make_seller: Callable[..., SellerAccount],
) -> None:
    seller = make_seller(listings={"SKU-1": 5, "SKU-2": 3})
    before = scrape(running)
    assert metric(before, "rakuten_integrations", status="verified") == 0

    sandbox.add_sales(seller.login, [{"items": [{"sku": "SKU-2", "price": "3.00"}]}])
    integration_id = install_with_a_sale(running, sandbox, seller, stock_sync_enabled=True)
    publish_events(running.amqp_url, running.exchange,
                   [stock_changed("acc-1", "SKU-1", 9), stock_changed("acc-1", "SKU-2", 0)])
    tap.wait_for(of("order.imported", integration_id), "two order.imported", count=2)
    wait_until(lambda: sandbox.listings(seller.login) == {"SKU-1": 9, "SKU-2": 0},
               "the stock to reach Rakuten")

    def grown(name: str, by: float, **labels: str) -> bool:
        return metric(scrape(running), name, **labels) >= metric(before, name, **labels) + by

    wait_until(lambda: grown("rakuten_events_consumed_total", 1, type="integration.installed"),
               "the install to be counted")
    wait_until(lambda: grown("rakuten_events_consumed_total", 2, type="stock.changed"),
               "the stock changes to be counted")
    wait_until(lambda: grown("rakuten_orders_imported_total", 2), "the orders to be counted")
    wait_until(lambda: grown("rakuten_stock_files_sent_total", 1), "the stock file to be counted")
    wait_until(lambda: grown("rakuten_events_published_total", 3), "the published events to be counted")
    wait_until(lambda: grown("rakuten_verifications_total", 1, outcome="verified"),
               "the verification to be counted")
    after = scrape(running)
    assert metric(after, "rakuten_integrations", status="verified") == 1
    assert metric(after, "rakuten_integrations", status="pending") == 0
    assert 0 <= metric(after, "rakuten_order_poll_lag_seconds", integration_id=integration_id) < 30
    assert ("rakuten_order_poll_lag_seconds", (("integration_id", integration_id),)) in after
    wait_until(lambda: metric(scrape(running), "rakuten_outbox_backlog") == 0, "an empty outbox")
    assert metric(after, "rakuten_scheduler_last_tick_timestamp_seconds") > time.time() - 30


def set_connections(admin_url: str, database_url: str, *, allowed: bool) -> None:
    """Allow or refuse connections to the database of `database_url`, closing those open when refusing."""
    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS {}").format(
            sql.Identifier(name), sql.SQL("true" if allowed else "false")))
        if not allowed:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))


def test_healthz_turns_503_naming_the_database_while_it_is_unreachable_then_recovers(
    running: RunProcess, tap: EventTap, service_urls: ServiceUrls, database: str,
    sandbox: Sandbox, make_seller: Callable[..., SellerAccount],
) -> None:
    assert running.health() == (200, {"healthy": True, "problems": {}})

    set_connections(service_urls.database, database, allowed=False)
    try:
        wait_until(lambda: running.health()[0] == 503, "/healthz to answer 503")
        seller = make_seller(listings={"SKU-1": 5})
        during_outage = install_with_a_sale(running, sandbox, seller)
        for _ in range(3):
            code, body = running.health()
            assert code == 503
            assert body["healthy"] is False
            assert body["problems"]["database"].startswith("unreachable")
            assert "broker" not in body["problems"]
    finally:
        set_connections(service_urls.database, database, allowed=True)

    wait_until(lambda: running.health()[0] == 200, "/healthz to answer 200 again", timeout=90)
    tap.wait_for(of("integration.verified", during_outage), "the install sent during the outage")
    tap.wait_for(of("order.imported", during_outage), "its order")
    assert set(running.children().values()) == PARTS


def test_healthz_names_the_broker_when_rabbitmq_is_unreachable_and_sigterm_still_stops_run(
    running: RunProcess,
) -> None:
    vhost = unquote(running.amqp_url.rsplit("/", 1)[1])
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], check=True, capture_output=True, timeout=60)

    code, body = wait_until(lambda: (h if (h := running.health())[0] == 503 else None), "/healthz 503")
    assert body["problems"]["broker"].startswith("unreachable")
    assert "database" not in body["problems"]
    started = time.monotonic()

    running.process.send_signal(signal.SIGTERM)

    assert running.process.wait(STOP_BOUND_S + 30) == 0
    assert time.monotonic() - started < STOP_BOUND_S
    assert "did not stop within" not in running.log()


def test_run_refuses_to_start_with_a_clear_message_when_the_metrics_port_is_taken(
    env: dict[str, str],
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", int(env["METRICS_PORT"])))
        taken.listen()
        result = subprocess.run([sys.executable, "-m", "workers", "run"], env=env, capture_output=True,
                                text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert f"cannot serve metrics on 127.0.0.1:{env['METRICS_PORT']}" in result.stderr
    assert "Traceback" not in result.stderr
