"""RabbitMQ and PostgreSQL dropping every connection mid-stream: the parts reconnect, nothing is lost.

The broker "restart" closes every client connection of the test's vhost (what
clients see when RabbitMQ restarts, without restarting the broker the other tests
share), or also refuses new ones for seconds (the vhost's user loses its
permissions meanwhile); the database one terminates every session on the test's
database, in bursts. Each happens several times while sales and stock changes
stream in. Afterwards the same promise holds as after crashes, with no part
restarted: ingress, Dramatiq workers, scheduler and relay reconnected on their
own, well within the leases that would otherwise have brought lost work back.
The last tests pin each cause found on the way, one by one.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pika.exceptions
import psycopg
import pytest
from dramatiq.errors import ConnectionClosed
from psycopg import sql

from connectors.rakuten.sandbox import Sandbox
from db.pool import open_pool
from tests.e2e.reliability_helpers import (
    System,
    Workload,
    assert_parts_alive,
    assert_secrets_kept,
    broker_down,
    close_broker_connections,
    started_system,
    terminate_backends,
)
from tests.fixtures.services import ServiceUrls, VhostFactory
from tests.flows.harness import World, install, world
from workers import scheduler

pytestmark = pytest.mark.slow

OUTAGES = 4  #: times every connection is dropped
#: seconds the system may take to catch up once the connections stay up: far less than the
#: leases (a minute and more) after which claimed work that was never sent is sent again
RECOVERY_S = 30.0
BURST_S = 0.6  #: seconds during which every database session is terminated as soon as it opens
BROKER_AWAY_S = 3.0  #: seconds RabbitMQ refuses the parts, each outage


@pytest.fixture
def system(service_urls: ServiceUrls, vhosts: VhostFactory, sandbox: Sandbox, tmp_path: Path
           ) -> Iterator[System]:
    with started_system(service_urls, vhosts, sandbox, tmp_path) as built:
        yield built


def stream_through_outages(system: System, load: Workload, drop: Callable[[], object]) -> None:
    """Install, then keep sales and stock changes coming while `drop` cuts the connections."""
    parts = system.running.children()
    load.install()
    load.wait_verified()
    for _ in range(OUTAGES):
        load.add_sales(15)
        load.change_stock(20)
        time.sleep(0.3)  # let imports, flushes and relays be under way when the connections drop
        drop()
        load.change_stock(10)
        time.sleep(0.5)
    load.wait_settled(timeout=RECOVERY_S)
    assert_parts_alive(system.running, parts)
    applied = system.query("SELECT count(*) FROM inbox")[0][0]
    assert applied == load.stock_events + len(load.shops), "every inbound event applied once"
    assert_secrets_kept(system, load.tokens)


def test_rabbitmq_dropping_every_connection_mid_stream_loses_and_duplicates_nothing(system: System) -> None:
    load = Workload(system, shops=2, skus=10, seed=3)

    stream_through_outages(system, load, lambda: close_broker_connections(system.amqp_url))

    assert "RabbitMQ connection lost" in system.running.log(), "the ingress did see the outages"


def test_rabbitmq_away_for_seconds_mid_stream_loses_and_duplicates_nothing(system: System) -> None:
    load = Workload(system, shops=2, skus=10, seed=10)

    def away() -> None:
        with broker_down(system.amqp_url):
            time.sleep(BROKER_AWAY_S)  # the parts retry against a broker that refuses them

    stream_through_outages(system, load, away)

    assert "cannot connect to RabbitMQ" in system.running.log(), "the ingress did see the broker away"


def test_postgresql_terminating_every_session_mid_stream_loses_and_duplicates_nothing(
    system: System, service_urls: ServiceUrls,
) -> None:
    load = Workload(system, shops=2, skus=10, seed=4)
    terminated: list[int] = []

    def terminate_repeatedly() -> None:
        # a burst, so that some sessions die in the middle of a transaction, not only idle in a pool
        deadline = time.monotonic() + BURST_S
        while time.monotonic() < deadline:
            terminated.append(terminate_backends(service_urls.database, system.database_url))
            time.sleep(0.05)

    stream_through_outages(system, load, terminate_repeatedly)

    assert sum(terminated) >= OUTAGES, "the outages terminated sessions of the parts"


def test_a_pool_whose_sessions_were_all_terminated_hands_out_a_working_connection_at_once(
    fresh_database: str, service_urls: ServiceUrls,
) -> None:
    pool = open_pool(fresh_database, min_size=10, max_size=10, name="reliability-pool")
    try:
        pool.wait()
        assert terminate_backends(service_urls.database, fresh_database) >= 10
        started = time.monotonic()

        with pool.connection(timeout=20) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)

        # not one dead connection after another, each check failure doubling the pool's wait
        assert time.monotonic() - started < 1.0
    finally:
        pool.close()


class BrokerAway:
    """A dispatcher whose sends fail as dramatiq's do while RabbitMQ is away."""

    def send(self, task: str, *args: Any) -> None:
        """Fail like `DramatiqDispatcher` when RabbitMQ is away."""
        raise ConnectionClosed(pika.exceptions.AMQPConnectionError("RabbitMQ is away"))  # type: ignore[no-untyped-call]


def test_an_install_applied_while_the_broker_refuses_its_verification_is_verified_at_the_next_tick(
    fresh_database: str, sandbox: Sandbox,
) -> None:
    with world(fresh_database, sandbox) as w:
        login, token = f"shop-{uuid.uuid4().hex[:6]}", f"tok-{uuid.uuid4().hex}"
        sandbox.add_seller(login, token)
        w.handler.dispatch = BrokerAway()

        w.apply(install("int-away", "acc-away", login, token))  # applied, not failed

        assert w.integration("int-away")["status"] == "pending"
        # due now, not when the lease ends: the scheduler's next tick sends it
        assert w.scalar("SELECT verify_due_at <= now() FROM integrations WHERE integration_id = 'int-away'")
        w.step()
        assert w.integration("int-away")["status"] == "verified"


def test_work_the_scheduler_claimed_but_could_not_send_is_due_again_at_once(
    fresh_database: str, sandbox: Sandbox,
) -> None:
    with world(fresh_database, sandbox) as w:
        login, token = f"shop-{uuid.uuid4().hex[:6]}", f"tok-{uuid.uuid4().hex}"
        sandbox.add_seller(login, token)
        sandbox.add_sales(login, [{"items": [{"sku": "SKU-1"}]}])
        w.apply(install("int-claimed", "acc-claimed", login, token))
        w.drive_until(lambda: w.integration("int-claimed")["status"] == "verified")
        working = w.ctx.dispatch
        w.ctx.dispatch = BrokerAway()

        with pytest.raises(ConnectionClosed):
            scheduler.tick(w.ctx)  # claims the order poll (leased for minutes), cannot send it

        assert w.scalar("SELECT orders_due_at <= now() FROM integrations WHERE integration_id = %s",
                        "int-claimed")
        w.ctx.dispatch = working
        w.drive_until(lambda: w.scalar("SELECT count(*) FROM orders") == 1, timeout=10)


def rename(w: World, table: str, to: str) -> None:
    with w.pool.connection() as conn:
        conn.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(sql.Identifier(table), sql.Identifier(to)))


def test_work_claimed_before_a_later_claim_fails_is_still_sent(fresh_database: str, sandbox: Sandbox) -> None:
    with world(fresh_database, sandbox) as w:
        login, token = f"shop-{uuid.uuid4().hex[:6]}", f"tok-{uuid.uuid4().hex}"
        sandbox.add_seller(login, token)
        w.apply(install("int-half", "acc-half", login, token))
        w.drive_until(lambda: w.integration("int-half")["status"] == "verified")
        # the claims after the order polls' fail, as when the connection drops mid-tick
        rename(w, "stock_imports", "stock_imports_away")
        try:
            with pytest.raises(psycopg.errors.UndefinedTable):
                scheduler.tick(w.ctx)
        finally:
            rename(w, "stock_imports_away", "stock_imports")

        assert ("import_orders", ("int-half", 1)) in w.dispatch.tasks, "the claimed order poll was sent"
