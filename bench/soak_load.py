"""The soak's traffic and its observations: stock events at a steady rate, sales, table sizes.

`Load` publishes `stock.changed` in chunks ten times a second (with a share of
them published a second time a moment later, as a broker redelivers) and adds
sales at the sandbox; it remembers the newest version of every SKU and which
events were new, so the end state can be checked. `Sampler` counts the rows of
the bounded tables once a second.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from bench import amqp
from connectors.rakuten.sandbox import Sandbox
from events.publisher import ConfirmedPublisher, OutgoingMessage, PendingBatch

CHUNKS_PER_S = 10  #: publications per second
DUPLICATE_EVERY = 100  #: one event in this many is published twice
#: sales are dated three days back: with a one-day look-back only getnewsales returns
#: them, and only until they are accepted, so the polls stay the same size all along
SALE_AGE = timedelta(days=3)
TABLES = ("inbox", "outbox", "stock_import_lines", "stock_imports")


@dataclass(frozen=True)
class Shop:
    """One merchant of the soak."""

    account_id: str
    integration_id: str
    login: str
    token: str


@dataclass
class Load:
    """Publishes the soak's traffic and remembers what the system must end with."""

    amqp_url: str
    exchange: str
    sandbox: Sandbox
    shops: list[Shop]
    skus: int
    rate: int
    sales_per_s: float
    seed: int = 11
    newest: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    fresh: int = 0
    duplicates: int = 0
    sales: dict[str, set[str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def run(self, seconds: float, stop: threading.Event) -> None:
        """Publish for `seconds` (or until `stop`), at the rate, with sales alongside."""
        rng = random.Random(self.seed)
        versions: dict[tuple[str, str], int] = {}
        publisher = ConfirmedPublisher(self.amqp_url, self.exchange)
        held: list[OutgoingMessage] = []
        in_flight: PendingBatch | None = None
        started = time.monotonic()
        tick = 0
        sales_due = 0.0
        try:
            while not stop.is_set() and time.monotonic() - started < seconds:
                chunk = [self._event(rng, versions) for _ in range(self.rate // CHUNKS_PER_S)]
                redelivered, held = held, chunk[::DUPLICATE_EVERY]
                self.duplicates += len(redelivered)
                # one chunk's confirms overlap the next one's building: the rate holds
                pending = publisher.submit(chunk + redelivered)
                if in_flight is not None:
                    in_flight.wait()
                in_flight = pending
                sales_due += self.sales_per_s / CHUNKS_PER_S
                while sales_due >= 1:
                    self._sale(rng)
                    sales_due -= 1
                tick += 1
                stop.wait(max(0.0, started + tick / CHUNKS_PER_S - time.monotonic()))
            if in_flight is not None:
                in_flight.wait()
        except Exception as exc:  # reported with the figures: the soak is void
            self.errors.append(f"load stopped: {exc!r}")
        finally:
            publisher.close()

    def _event(self, rng: random.Random, versions: dict[tuple[str, str], int]) -> OutgoingMessage:
        shop = rng.choice(self.shops)
        key = (shop.account_id, f"SKU-{rng.randrange(self.skus):04d}")
        versions[key] = version = versions.get(key, 0) + 1
        quantity = rng.randrange(1000)
        self.newest[key] = (version, quantity)
        self.fresh += 1
        return amqp.stock_changed(key[0], key[1], quantity, version)

    def _sale(self, rng: random.Random) -> None:
        shop = rng.choice(self.shops)
        when = (datetime.now(UTC) - SALE_AGE).strftime("%d/%m/%Y-%H:%M")
        sku = f"SKU-{rng.randrange(self.skus):04d}"
        added = self.sandbox.add_sales(shop.login, [{"purchased_at": when, "items": [{"sku": sku}]}])
        self.sales.setdefault(shop.integration_id, set()).update(s["purchase_id"] for s in added)


@dataclass
class Sample:
    """One look at the bounded tables: seconds since the start, rows now, rows ever inserted."""

    at: float
    rows: dict[str, int]
    inserted: dict[str, int]


@dataclass
class Sampler:
    """Counts the rows of the bounded tables once a second, in a thread."""

    database_url: str
    samples: list[Sample] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def run(self, stop: threading.Event) -> None:
        """Sample until `stop` is set."""
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            while not stop.wait(1.0):
                rows = {t: _count(conn, t) for t in TABLES}
                inserted = {r[0]: int(r[1]) for r in conn.execute(
                    "SELECT relname, n_tup_ins FROM pg_stat_user_tables WHERE relname = ANY(%s)",
                    (list(TABLES),))}
                self.samples.append(Sample(time.monotonic() - self.started, rows, inserted))


def _count(conn: psycopg.Connection[Any], table: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM {table}".encode()).fetchone()  # names from TABLES only
    return int(row[0]) if row else 0


def spread(values: list[float]) -> dict[str, float]:
    """min, median and max of `values`, and the largest deviation from the median (a fraction)."""
    if not values:
        return {"min": 0, "median": 0, "max": 0, "worst": float("inf")}
    ordered = sorted(values)
    median = ordered[len(ordered) // 2]
    worst = max(median - ordered[0], ordered[-1] - median) / median if median else float("inf")
    return {"min": ordered[0], "median": median, "max": ordered[-1], "worst": worst}


def flatness(samples: list[Sample], *, table: str, after_s: float, retention_s: float
             ) -> dict[str, dict[str, float]]:
    """The table's rows after `after_s`, raw and per row inserted over the last retention period.

    The second is what the retention promises whatever the traffic: the table
    holds one retention period's worth of rows. The raw count also follows the
    rate of the traffic, which a shared machine does not keep steady.
    """
    raw: list[float] = []
    held: list[float] = []
    for sample in samples:
        if sample.at < after_s:
            continue
        raw.append(sample.rows[table])
        earlier = [s for s in samples if s.at <= sample.at - retention_s]
        if earlier:
            window = sample.inserted.get(table, 0) - earlier[-1].inserted.get(table, 0)
            if window > 0:
                held.append(sample.rows[table] / window)
    return {"rows": spread(raw), "per_period": spread(held)}
