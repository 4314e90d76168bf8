"""Figure 7: the cost of the scheduler and of `/metrics` as the number of merchants grows.

For each size (1,000, 10,000 and 100,000 integrations, `bench/merchants_seed.py`)
a database of its own is seeded with COPY, with the same due work at every size.
Then, the sizes taking turns in each repetition (so a slow moment of the machine
hits them all):

- a tick of the real scheduler (`workers.scheduler.tick`: every claim of
  `db/schedule.py`, the re-send marks, the dispatch to a dispatcher that drops
  the messages) with the due work made due again just before it, and an idle
  tick right after it (nothing due);
- a scrape of the real `/metrics` (`workers.observability.serve`, its database
  gauges; no process samples);

and once per size the plan of every claim (`bench/plans.py`). The rows one poll
of an unchanged order list writes are `bench/merchants_poll.py`.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

import httpx
import psycopg

from bench.dispatch import NullDispatcher
from bench.env import NO_RAKUTEN, Services, bench_settings
from bench.merchants_seed import DUE, Seeded, make_due, seed
from bench.plans import CLAIMS, SCRAPE_QUERIES, PlanSummary, explain_all
from bench.runproc import free_port
from bench.stats import median
from connectors.rakuten import RakutenClient
from db.pool import open_pool
from workers.context import Context
from workers.crypto import TokenCipher
from workers.observability.health import Health
from workers.observability.multiprocess import MULTIPROC_ENV
from workers.observability.server import serve
from workers.scheduler import tick

log = logging.getLogger(__name__)


@dataclass
class Size:
    """One size's database, its scheduler context and what was measured on it."""

    count: int
    database_url: str
    seeded: Seeded
    ctx: Context
    tick_s: list[float] = field(default_factory=list)
    idle_tick_s: list[float] = field(default_factory=list)
    scrape_s: list[float] = field(default_factory=list)
    scrape_bytes: int = 0
    series: int = 0
    integration_series: int = 0
    plans: list[PlanSummary] = field(default_factory=list)
    scrape_plans: list[PlanSummary] = field(default_factory=list)


@contextmanager
def open_size(services: Services, count: int) -> Iterator[Size]:
    """A database with `count` integrations and a scheduler context on it."""
    with services.database() as db_url:
        started = time.perf_counter()
        with psycopg.connect(db_url) as conn:
            seeded = seed(conn, count)
        log.info("seeded %d integrations in %.1fs", count, time.perf_counter() - started)
        settings = bench_settings(db_url, services.amqp_url, NO_RAKUTEN, metrics_port=free_port())
        pool = open_pool(db_url, min_size=1, max_size=2, name="bench-scheduler")
        client = RakutenClient(base_url=NO_RAKUTEN)
        try:
            ctx = Context(settings, pool, TokenCipher(settings.require_token_key()), client, NullDispatcher())
            yield Size(count, db_url, seeded, ctx)
        finally:
            client.close()
            pool.close()


def measure_tick(size: Size) -> None:
    """One tick with the due work due, then an idle tick; check what each claimed."""
    with psycopg.connect(size.database_url) as conn:
        make_due(conn, size.seeded)
    started = time.perf_counter()
    result = tick(size.ctx)
    size.tick_s.append(time.perf_counter() - started)
    claimed = (len(result.verifications), len(result.order_polls), len(result.reconciliations),
               len(result.stock_flushes))
    if claimed != (DUE, DUE, DUE, DUE):
        raise RuntimeError(f"{size.count} integrations: a tick claimed {claimed}, expected {DUE} of each")
    started = time.perf_counter()
    idle = tick(size.ctx)
    size.idle_tick_s.append(time.perf_counter() - started)
    if idle.verifications or idle.order_polls or idle.reconciliations or idle.stock_flushes:
        raise RuntimeError(f"{size.count} integrations: an idle tick claimed work: {idle}")


@contextmanager
def metrics_server(size: Size) -> Iterator[str]:
    """The real `/metrics` server on this size's database (no process samples); its URL."""
    folder = tempfile.mkdtemp(prefix="bench-metrics-")
    previous = os.environ.get(MULTIPROC_ENV)
    os.environ[MULTIPROC_ENV] = folder  # the exporter reads the (empty) samples folder
    settings = size.ctx.settings
    server = serve(settings, Health(settings, progress=lambda: None))
    try:
        assert server is not None
        yield f"http://127.0.0.1:{server.server_address[1]}/metrics"
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
        shutil.rmtree(folder, ignore_errors=True)
        if previous is None:
            os.environ.pop(MULTIPROC_ENV, None)
        else:
            os.environ[MULTIPROC_ENV] = previous


def measure_scrape(size: Size, url: str) -> None:
    """One GET of `/metrics`: its time, size and series."""
    started = time.perf_counter()
    response = httpx.get(url, timeout=120.0)
    size.scrape_s.append(time.perf_counter() - started)
    response.raise_for_status()
    samples = [line for line in response.text.splitlines() if line and not line.startswith("#")]
    size.scrape_bytes = len(response.content)
    size.series = len(samples)
    size.integration_series = sum('integration_id="' in line for line in samples)


def measure_sizes(services: Services, counts: tuple[int, ...], reps: int) -> list[Size]:
    """Seed every size, then measure ticks and scrapes with the sizes taking turns; then the plans."""
    with ExitStack() as stack:
        sizes = [stack.enter_context(open_size(services, count)) for count in counts]
        urls = [stack.enter_context(metrics_server(size)) for size in sizes]
        for size, url in zip(sizes, urls, strict=True):  # warm-up: caches, plans, connections
            measure_tick(size)
            measure_scrape(size, url)
            size.tick_s.clear()
            size.idle_tick_s.clear()
            size.scrape_s.clear()
        for rep in range(reps):
            order = list(range(len(sizes)))
            order = order[rep % len(order):] + order[: rep % len(order)]
            for index in order:
                measure_tick(sizes[index])
                measure_scrape(sizes[index], urls[index])
        for size in sizes:
            with psycopg.connect(size.database_url) as conn:
                make_due(conn, size.seeded)
                size.plans = explain_all(conn, CLAIMS)
                size.scrape_plans = explain_all(conn, SCRAPE_QUERIES)
            log.info("%d integrations: tick %.1f ms, idle %.1f ms, scrape %.1f ms", size.count,
                     1000 * median(size.tick_s), 1000 * median(size.idle_tick_s),
                     1000 * median(size.scrape_s))
        return sizes
