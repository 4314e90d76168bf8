"""Helpers for the reliability suite: the system under attack, a workload, the faults, the checks.

`started_system` runs `python -m workers run` (tests.e2e.helpers.start_run) on a
database and a vhost of its own with the suite's small intervals, and a `Tap`: a
named queue bound to the outbound event types that, unlike an exclusive queue,
survives the broker closing every connection of the vhost. `Workload` seeds
sellers and sales in the sandbox, publishes installs and stock changes, and
checks the promise at the end: every order exactly once, one event id per fact,
Rakuten's quantities equal to the newest events. The faults: SIGKILL of a part
(`kill_part`, `kill_during_call`), `close_broker_connections`,
`terminate_backends`, `failing_rakuten` (a share of the sandbox's calls fail).
`assert_secrets_kept` scans logs, events, outbox, queues and a dump for a token.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, unquote, urlsplit

import pika
import pika.exceptions
import psycopg
import pytest
from psycopg import sql

from connectors.rakuten.sandbox import Sandbox
from connectors.rakuten.sandbox.model import Fault
from events.outbound import OUTBOUND_TYPES, order_event_id
from events.publisher import publish_events
from events.topology import declare_exchange
from tests.contract_check import assert_conforms
from tests.e2e.helpers import (
    RunProcess,
    free_port,
    installed,
    is_running,
    new_database,
    run_environment,
    start_run,
    stock_changed,
    wait_until,
)
from tests.fixtures.sandbox import SellerAccount
from tests.fixtures.services import ServiceUrls, VhostFactory

#: The suite's intervals (seconds): faults and recoveries play out within seconds.
RELIABILITY_ENV = {
    "RAKUTEN_ORDER_POLL_INTERVAL_S": "0.3",
    "RAKUTEN_STOCK_PUSH_INTERVAL_S": "1",
    "RAKUTEN_REPORT_POLL_INTERVAL_S": "0.2",
    "RAKUTEN_RETRY_BASE_S": "0.05",
    "RAKUTEN_HTTP_TIMEOUT_S": "1",
}
SETTLE_S = 90.0  #: seconds the system may take to converge once the faults stop
BROKER_ERRORS: tuple[type[BaseException], ...] = (pika.exceptions.AMQPError, OSError)


# --- the system ------------------------------------------------------------------------


@dataclass
class System:
    """A running `run`, its database, the sandbox and a tap on the events it publishes."""

    running: RunProcess
    database_url: str
    sandbox: Sandbox
    tap: Tap

    @property
    def amqp_url(self) -> str:
        """The URL of the vhost `run` uses."""
        return self.running.amqp_url

    @property
    def exchange(self) -> str:
        """The events exchange."""
        return self.running.exchange

    def publish(self, events: Sequence[dict[str, Any]]) -> None:
        """Publish inbound events (again, with the same ids, when the broker drops the connection)."""
        publish(self.amqp_url, self.exchange, events)

    def query(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one query on the system's database and return its rows."""
        with psycopg.connect(self.database_url, connect_timeout=10) as conn:
            return conn.execute(query, params).fetchall()


@contextmanager
def started_system(
    service_urls: ServiceUrls, vhosts: VhostFactory, sandbox: Sandbox, log_dir: Path, *,
    threads: int = 4, **env: str,
) -> Iterator[System]:
    """Run `rakuten-worker run` on a new database and vhost with the suite's intervals."""
    with new_database(service_urls.database, prefix="rakuten_rel") as database_url:
        environment = run_environment(
            database_url=database_url, amqp_url=vhosts.new(), rakuten_url=sandbox.url,
            metrics_port=free_port(), **{**RELIABILITY_ENV, **env},
        )
        with start_run(environment, log_dir, "--threads", str(threads)) as running, \
                Tap.bound(running.amqp_url, running.exchange) as tap:
            yield System(running, database_url, sandbox, tap)


def publish(amqp_url: str, exchange: str, events: Sequence[dict[str, Any]], *, attempts: int = 20) -> None:
    """Publish events with confirms, retrying the whole list while the broker drops connections."""
    for attempt in range(attempts):
        try:
            publish_events(amqp_url, exchange, events)
            return
        except BROKER_ERRORS:
            if attempt == attempts - 1:
                raise
            time.sleep(0.25)


# --- reading the events the system publishes ------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """One message read from the tap: its AMQP message id and its CloudEvent."""

    message_id: str | None
    event: dict[str, Any]
    body: str


@dataclass
class Tap:
    """A named (not exclusive) queue bound to the outbound types; reconnects when the broker drops it."""

    amqp_url: str
    exchange: str
    queue: str
    deliveries: list[Delivery] = field(default_factory=list)
    _connection: Any = None
    _channel: Any = None

    @classmethod
    @contextmanager
    def bound(cls, amqp_url: str, exchange: str) -> Iterator[Tap]:
        """Yield a tap bound before anything is published; delete its queue afterwards."""
        tap = cls(amqp_url, exchange, f"reliability.tap.{uuid.uuid4().hex[:10]}")
        channel = tap._open()
        declare_exchange(channel, exchange)
        channel.queue_declare(tap.queue, durable=True)
        for routing_key in OUTBOUND_TYPES:
            channel.queue_bind(tap.queue, exchange, routing_key=routing_key)
        try:
            yield tap
        finally:
            try:
                tap._open().queue_delete(tap.queue)
            except BROKER_ERRORS:
                pass  # the vhost goes at the end of the session anyway
            tap._drop()

    def _open(self) -> Any:
        if self._connection is None or not self._connection.is_open:
            self._connection = pika.BlockingConnection(pika.URLParameters(self.amqp_url))
            self._channel = self._connection.channel()
        return self._channel

    def _drop(self) -> None:
        try:
            if self._connection is not None and self._connection.is_open:
                self._connection.close()
        except BROKER_ERRORS:
            pass
        self._connection = self._channel = None

    def poll(self) -> list[Delivery]:
        """Read what arrived (acking after recording: a lost ack only repeats a delivery)."""
        for _ in range(5):
            try:
                channel = self._open()
                while True:
                    method, properties, body = channel.basic_get(self.queue, auto_ack=False)
                    if method is None:
                        return self.deliveries
                    text = body.decode()
                    self.deliveries.append(Delivery(properties.message_id, json.loads(text), text))
                    channel.basic_ack(method.delivery_tag)
                    assert_conforms(self.deliveries[-1].event)
            except BROKER_ERRORS:
                self._drop()
                time.sleep(0.2)
        return self.deliveries

    def of(self, type_: str, integration_id: str | None = None) -> list[Delivery]:
        """The deliveries of events of `type_` (about `integration_id`), polling first."""
        return [
            d for d in self.poll()
            if d.event["type"] == type_
            and (integration_id is None or d.event["data"].get("integration_id") == integration_id)
        ]

    def distinct_ids(self, type_: str, integration_id: str | None = None) -> set[str]:
        """The distinct event ids of `type_` seen so far."""
        return {d.event["id"] for d in self.of(type_, integration_id)}


# --- the workload ---------------------------------------------------------------------


@dataclass
class Shop:
    """One merchant's integration: account, integration id and the Rakuten seller behind it."""

    account_id: str
    integration_id: str
    seller: SellerAccount
    purchase_ids: set[str] = field(default_factory=set)


def new_seller(sandbox: Sandbox, skus: Sequence[str], *, initial: int) -> SellerAccount:
    """Create a pro seller whose token needs URL-encoding, listing `skus` at `initial`."""
    login = f"shop-{secrets.token_hex(4)}"
    token = f"tok+{secrets.token_urlsafe(18)}/="  # '+', '/' and '=' change when URL-encoded
    seller_id = sandbox.add_seller(login, token)
    sandbox.set_listings(login, {sku: initial for sku in skus})
    return SellerAccount(login, token, seller_id)


class Workload:
    """Merchants whose sales and stock changes stream in, with what the system must end with."""

    INITIAL = 10_000  #: the quantity every listing starts with (no event ever sends it)

    def __init__(self, system: System, *, shops: int = 2, skus: int = 12, seed: int = 0) -> None:
        self.system = system
        self.rng = random.Random(seed)
        self.skus = [f"SKU-{n:03d}" for n in range(skus)]
        self.shops: list[Shop] = []
        for _ in range(shops):
            self.add_shop()
        #: (account, sku) -> (version, quantity) of the newest event published
        self.newest: dict[tuple[str, str], tuple[int, int]] = {}
        self._versions: Counter[tuple[str, str]] = Counter()
        self.stock_events = 0

    @property
    def tokens(self) -> list[str]:
        """Every shop's token."""
        return [shop.seller.token for shop in self.shops]

    def add_shop(self) -> Shop:
        """Add a merchant: a Rakuten seller listing every SKU, not installed yet."""
        shop = Shop(f"acc-{uuid.uuid4().hex[:8]}", f"int-{uuid.uuid4().hex[:8]}",
                    new_seller(self.system.sandbox, self.skus, initial=self.INITIAL))
        self.shops.append(shop)
        return shop

    def install(self, shops: Sequence[Shop] | None = None, *, stock_sync: bool = True) -> None:
        """Publish an install of the shops (all by default)."""
        self.system.publish([
            installed(s.integration_id, s.account_id, s.seller.login, s.seller.token,
                      stock_sync_enabled=stock_sync)
            for s in (self.shops if shops is None else shops)
        ])

    def wait_verified(self, timeout: float = 30.0) -> None:
        """Wait until every shop's integration is verified."""
        for shop in self.shops:
            verified = partial(self.system.tap.of, "integration.verified", shop.integration_id)
            wait_until(verified, f"integration.verified of {shop.integration_id}", timeout=timeout)

    def add_sales(self, count: int, shop: Shop | None = None) -> None:
        """Add `count` sales (one item each) at Rakuten, spread over the shops unless one is given."""
        for n in range(count):
            target = shop or self.shops[n % len(self.shops)]
            sku = self.rng.choice(self.skus)
            added = self.system.sandbox.add_sales(
                target.seller.login, [{"items": [{"sku": sku, "price": "9.90"}]}])
            target.purchase_ids.update(sale["purchase_id"] for sale in added)

    def change_stock(self, count: int, shops: Sequence[Shop] | None = None) -> None:
        """Publish `count` stock changes of the shops' accounts (all by default), shuffled.

        Versions increase per SKU, but an older version may arrive after a newer one.
        """
        events = []
        for _ in range(count):
            shop = self.rng.choice(list(shops or self.shops))
            key = (shop.account_id, self.rng.choice(self.skus))
            self._versions[key] += 1
            version, quantity = self._versions[key], self.rng.randrange(0, 500)
            if version > self.newest.get(key, (0, 0))[0]:
                self.newest[key] = (version, quantity)
            events.append(stock_changed(key[0], key[1], quantity, version=version))
        self.rng.shuffle(events)
        self.system.publish(events)
        self.stock_events += len(events)

    def expected_listings(self, shop: Shop) -> dict[str, int]:
        """What the shop's Rakuten listings must end with: the newest event per SKU."""
        return {sku: self.newest.get((shop.account_id, sku), (0, self.INITIAL))[1] for sku in self.skus}

    def listings_match(self) -> bool:
        """Whether every shop's Rakuten listings equal the newest events."""
        return all(self.system.sandbox.listings(s.seller.login) == self.expected_listings(s)
                   for s in self.shops)

    def orders_in_database(self) -> dict[str, set[str]]:
        """integration id -> order ids stored."""
        found: dict[str, set[str]] = {s.integration_id: set() for s in self.shops}
        for integration_id, order_id in self.system.query("SELECT integration_id, order_id FROM orders"):
            found.setdefault(integration_id, set()).add(order_id)
        return found

    def expected_orders(self) -> dict[str, set[str]]:
        """integration id -> every purchase id seeded at Rakuten."""
        return {s.integration_id: set(s.purchase_ids) for s in self.shops}

    def stock_quiet(self) -> bool:
        """Whether no stock is left to send, no file awaits its report and no re-send is due soon.

        A re-send is scheduled when a file's upload outcome was unknown: Rakuten may
        apply that file late, so the listings are final only once it has been sent.
        """
        rows = self.system.query(
            "SELECT (SELECT count(*) FROM stock_pending), "
            "(SELECT count(*) FROM stock_imports WHERE status = 'pending'), "
            "(SELECT count(*) FROM integrations WHERE stock_sync_enabled AND status = 'verified' "
            " AND reconcile_due_at < now() + interval '1 minute')")
        return rows[0] == (0, 0, 0)

    def settled(self) -> bool:
        """Whether orders, their events and the stock have all arrived (exactness is checked after)."""
        expected = self.expected_orders()
        published = sum(len(self.system.tap.distinct_ids("order.imported", i)) for i in expected)
        return (
            self.orders_in_database() == expected
            and published >= sum(len(ids) for ids in expected.values())
            and self.stock_quiet()
            and self.listings_match()
        )

    def wait_settled(self, timeout: float = SETTLE_S) -> None:
        """Wait until everything arrived; then check it arrived exactly once (`assert_exact`)."""
        try:
            wait_until(self.settled, "orders, order events and stock to settle", timeout=timeout)
        except AssertionError:
            raise AssertionError(self.describe()) from None
        self.assert_exact()

    def describe(self) -> str:
        """Say what is missing, for a failure message."""
        expected, stored = self.expected_orders(), self.orders_in_database()
        lines = ["not settled:"]
        for shop in self.shops:
            iid = shop.integration_id
            listings = self.system.sandbox.listings(shop.seller.login)
            wrong = {sku: (qty, self.expected_listings(shop)[sku]) for sku, qty in listings.items()
                     if qty != self.expected_listings(shop).get(sku)}
            lines.append(
                f"  {iid}: {len(stored.get(iid, ()))}/{len(expected[iid])} orders stored, "
                f"{len(self.system.tap.distinct_ids('order.imported', iid))} order ids published, "
                f"listings (actual, expected) that differ: {wrong}")
        unsent = self.system.query("SELECT count(*) FROM outbox WHERE sent_at IS NULL")[0][0]
        lines.append(f"  outbox rows unsent: {unsent}")
        return "\n".join(lines)

    def assert_exact(self) -> None:
        """Every order once in the database and one event id per order; one verified id per shop."""
        assert self.orders_in_database() == self.expected_orders()
        for shop in self.shops:
            iid = shop.integration_id
            deliveries = self.system.tap.of("order.imported", iid)
            by_id: dict[str, list[Delivery]] = {}
            for delivery in deliveries:
                by_id.setdefault(delivery.event["id"], []).append(delivery)
            assert len(by_id) == len(shop.purchase_ids), (
                f"{iid}: {len(by_id)} distinct order.imported ids for {len(shop.purchase_ids)} sales")
            for event_id, same in by_id.items():
                order_id = same[0].event["data"]["order"]["order_id"]
                assert event_id == order_event_id(iid, order_id)
                assert {d.message_id for d in same} == {event_id}
                # a re-publication is the same fact: same id, same content
                assert all(d.event["data"] == same[0].event["data"] for d in same)
                assert same[0].event["data"]["account_id"] == shop.account_id
            assert {d.event["data"]["order"]["order_id"] for d in deliveries} == shop.purchase_ids
            assert len(self.system.tap.distinct_ids("integration.verified", iid)) == 1
        assert self.listings_match()


# --- faults ---------------------------------------------------------------------------


def kill_part(running: RunProcess, part: str) -> int:
    """SIGKILL the child of `run` that runs `part`; return its pid."""
    pid = running.child(part)
    os.kill(pid, signal.SIGKILL)
    return pid


def wait_replaced(running: RunProcess, part: str, old_pid: int, timeout: float = 60.0) -> int:
    """Wait until `run` started a new `part` in place of `old_pid`; return the new pid."""
    return wait_until(
        lambda: next((pid for pid, name in running.children().items() if name == part and pid != old_pid),
                     None),
        f"a new {part} in place of {old_pid}", timeout=timeout,
    )


def hang_taken(sandbox: Sandbox, login: str) -> bool:
    """Whether the seller's queued hang fault was taken, i.e. the call it delays is in progress."""
    with sandbox.state.seller(login) as seller:
        return not any(f.kind == "hang" for f in seller.faults)


def faults_left(sandbox: Sandbox, login: str) -> int:
    """How many injected faults the seller has not been served yet."""
    with sandbox.state.seller(login) as seller:
        return sum(fault.count for fault in seller.faults)


def kill_during_call(running: RunProcess, sandbox: Sandbox, login: str, action: str, *,
                     part: str = "worker", timeout: float = 20.0) -> int:
    """SIGKILL `part` while it waits for Rakuten's answer to `action`; return the new pid."""
    sandbox.inject_fault(login, "hang", hang_s=2.0, actions=[action])
    wait_until(lambda: hang_taken(sandbox, login), f"a {action} call to start", timeout=timeout, every=0.02)
    old = kill_part(running, part)
    return wait_replaced(running, part, old)


def _rabbitmqctl(*args: str) -> None:
    if shutil.which("rabbitmqctl") is None:
        pytest.fail("rabbitmqctl is needed to close the broker's connections (install rabbitmq-server)")
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


def _vhost(amqp_url: str) -> str:
    return unquote(urlsplit(amqp_url).path.lstrip("/")) or "/"


def close_broker_connections(amqp_url: str) -> None:
    """Make RabbitMQ close every client connection of the vhost, as a broker restart does."""
    _rabbitmqctl("close_all_connections", "-p", _vhost(amqp_url), "reliability test: broker restart")


@contextmanager
def broker_down(amqp_url: str) -> Iterator[None]:
    """Within the block, RabbitMQ is gone for the vhost: connections closed, new ones refused.

    The vhost's user loses its permissions (so connecting fails as it does while
    RabbitMQ restarts) and every connection is closed; both come back at the end.
    Only this vhost is affected: the broker other tests share keeps running.
    """
    vhost, user = _vhost(amqp_url), unquote(urlsplit(amqp_url).username or "guest")
    _rabbitmqctl("clear_permissions", "-p", vhost, user)
    try:
        close_broker_connections(amqp_url)
        yield
    finally:
        _rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")


def terminate_backends(admin_url: str, database_url: str) -> int:
    """Terminate every PostgreSQL session on the system's database; return how many."""
    name = urlsplit(database_url).path.lstrip("/")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()", (name,)).fetchall()
    return len(rows)


@contextmanager
def failing_rakuten(sandbox: Sandbox, logins: Sequence[str], *, rate: float, kinds: Sequence[str],
                    hang_s: float = 2.5, seed: int = 0) -> Iterator[Counter[str]]:
    """Make a `rate` share of the sellers' Rakuten calls fail with one of `kinds`; yield the tally.

    Faults queued with `inject_fault` still come first. The draw wraps the
    sandbox's own fault lookup, so the failures are the sandbox's (logged, with
    `error_code` "fault:<kind>").
    """
    rng = random.Random(seed)
    served: Counter[str] = Counter()
    state = sandbox.state
    queued = state.take_fault

    def take_fault(login: str, action: str) -> Fault | None:
        fault = queued(login, action)
        if fault is None and login in logins and rng.random() < rate:
            fault = Fault(kind=rng.choice(list(kinds)), hang_s=hang_s)
            served[fault.kind] += 1
        return fault

    state.take_fault = take_fault  # type: ignore[method-assign]
    try:
        yield served
    finally:
        del state.take_fault  # the class's own method again


# --- observations ---------------------------------------------------------------------


def calls(sandbox: Sandbox, login: str, *, since: float = 0.0, until: float = float("inf")
          ) -> Counter[str]:
    """Count the seller's web-service calls per action, answered between two `time.time()`s."""
    counted: Counter[str] = Counter()
    for entry in sandbox.requests(login=login):
        answered = datetime.fromisoformat(entry["time"]).timestamp()
        if since <= answered < until:
            counted[entry["action"]] += 1
    return counted


def peak_rss_kib(pid: int) -> int:
    """The peak resident set size of process `pid` (VmHWM), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmHWM for process {pid}")


def restarts(running: RunProcess) -> list[str]:
    """The lines of `run`'s log that say a part died."""
    return [line for line in running.log().splitlines() if "exited with code" in line]


def assert_parts_alive(running: RunProcess, pids: dict[int, str]) -> None:
    """Every part still runs as the same process: nothing crashed and was restarted."""
    assert all(is_running(pid) for pid in pids), f"a part died: {restarts(running)}"
    assert running.children() == pids
    assert restarts(running) == []


# --- secrets --------------------------------------------------------------------------


def secret_forms(token: str) -> set[str]:
    """The token as written anywhere: plain and URL-encoded."""
    return {token, quote(token, safe=""), quote_plus(token)}


def database_dump(database_url: str) -> str:
    """The data of every table, as `pg_dump --data-only` prints it (COPY of each table without it)."""
    if shutil.which("pg_dump"):
        dump = subprocess.run(["pg_dump", "--data-only", "--dbname", database_url], capture_output=True,
                              check=True, timeout=120)
        return dump.stdout.decode(errors="replace")
    parts: list[str] = []
    with psycopg.connect(database_url) as conn:
        tables = [row[0] for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        for table in tables:
            copy = sql.SQL("COPY {} TO STDOUT").format(sql.Identifier(table))
            with conn.cursor().copy(copy) as out:
                parts.extend(bytes(chunk).decode(errors="replace") for chunk in out)
    return "".join(parts)


def queued_bodies(amqp_url: str, queues: Sequence[str]) -> str:
    """The bodies (and headers) of the messages waiting in `queues`, left in place."""
    texts: list[str] = []
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        for queue in queues:
            channel = connection.channel()
            try:
                while (got := channel.basic_get(queue, auto_ack=False))[0] is not None:
                    texts.append(f"{got[1].headers!r} {got[2].decode(errors='replace')}")
                channel.close()  # unacknowledged: back to the queue
            except pika.exceptions.ChannelClosedByBroker:
                continue  # no such queue
    finally:
        connection.close()
    return "\n".join(texts)


#: Dramatiq's queues (with their delay and dead-letter queues): a failed actor's traceback lands there.
DRAMATIQ_QUEUES = tuple(
    f"rakuten.{kind}{suffix}"
    for kind in ("verify", "orders", "stock", "outbox")
    for suffix in ("", ".DQ", ".XQ")
)


def assert_secrets_kept(system: System, tokens: Sequence[str]) -> None:
    """No token in `run`'s output, the published events, the outbox, the work queues or a dump.

    Each place is first checked to hold what it should (the log every integration,
    the dump every seller's login), so that a scan of an empty log or dump cannot
    pass for a clean one. (A seller's login is in the log only at DEBUG, with each
    Rakuten call; the integration is named at INFO, by its install and verification.)
    """
    with psycopg.connect(system.database_url) as conn:
        outbox = "\n".join(row[0] for row in conn.execute("SELECT body::text FROM outbox"))
    places = {
        "the output of run": system.running.log(),
        "a published event": "\n".join(d.body for d in system.tap.poll()),
        "the outbox": outbox,
        "the database dump": database_dump(system.database_url),
        "a work queue": queued_bodies(system.amqp_url, DRAMATIQ_QUEUES),
    }
    known = system.query("SELECT integration_id, seller_id FROM integrations")
    assert known, "no integration to check"
    assert all(iid in places["the output of run"] for iid, _ in known), "the output of run misses some"
    assert all(login in places["the database dump"] for _, login in known), "the dump misses the sellers"
    for token in tokens:
        for form in secret_forms(token):
            for place, text in places.items():
                assert form not in text, f"a token appears in {place}"


def random_token() -> str:
    """A token with characters that URL-encoding changes."""
    return f"tok+{secrets.token_urlsafe(18)}/="


def wait_for(condition: Callable[[], Any], what: str, timeout: float = SETTLE_S) -> Any:
    """`wait_until` with the suite's settle deadline."""
    return wait_until(condition, what, timeout=timeout)
