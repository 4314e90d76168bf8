"""Figure 4: the stock economy, through the real ingress, scheduler and push.

One process runs the real parts: the `Ingress` (with the `EventHandler`) in a
thread, the scheduler's tick loop (`run_scheduler`) in another, and the work it
dispatches (`push_stock`, `poll_import_report`, the outbox relay) in a thread
pool instead of Dramatiq. The sandbox receives the stock files.

- First push: after a quiet period (nothing pending, the last file older than
  the push interval) one `stock.changed` is published; the figure is the time
  from its publication to the file's arrival at the sandbox. Budget: 1 s plus
  the scheduler tick.
- Economy: events are published at a steady rate for a while; the figure is
  events per stock file (the naive baseline sends one file per event), with a
  check that files never come closer than the push interval and that every
  SKU's final quantity at the sandbox is its latest event's.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bench import amqp
from bench.dispatch import PoolDispatcher
from bench.env import Services, add_verified_integration, bench_settings
from bench.stats import Figure, median
from bench.worker import connector
from connectors.rakuten.sandbox import Sandbox
from events.ingress import Ingress
from events.publisher import ConfirmedPublisher
from workers import scheduler
from workers.context import Context
from workers.handlers import EventHandler, is_transient

log = logging.getLogger(__name__)

LOGIN = "bench-stock"
ACCOUNT = "acct-stock"
INTEGRATION = "int-stock"
WAIT_S = 30.0  #: seconds any one condition may take


@dataclass(frozen=True)
class StockParams:
    """The size of figure 4."""

    push_interval_s: float
    first_push_reps: int
    rate: int  #: events per second in the economy run
    seconds: float  #: length of the economy run
    skus: int = 500


@dataclass
class Rig:
    """The running connector: its context, the sandbox and a publisher of inbound events."""

    ctx: Context
    dispatch: PoolDispatcher
    sandbox: Sandbox
    publisher: ConfirmedPublisher
    interval_s: float

    def files(self) -> list[dict[str, Any]]:
        """The stock files the sandbox received, oldest first."""
        return self.sandbox.files(LOGIN)

    def scalar(self, query: str) -> Any:
        """Run a one-value query."""
        with self.ctx.pool.connection() as conn:
            row = conn.execute(query.encode()).fetchone()
        return row[0] if row else None


def wait_until(condition: Callable[[], Any], *, timeout: float = WAIT_S, poll: float = 0.005) -> Any:
    """Poll `condition` until it returns something truthy; raise TimeoutError after `timeout`."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout}s")
        time.sleep(poll)
    return result


@contextmanager
def rig(services: Services, sandbox: Sandbox, params: StockParams) -> Iterator[Rig]:
    """Start ingress and scheduler threads on a fresh database and vhost; stop them on exit."""
    sandbox.add_seller(LOGIN, "token")
    sandbox.set_listings(LOGIN, {f"SKU-{n:06d}": 0 for n in range(params.skus)})
    with services.vhost() as amqp_url, services.database() as db_url:
        settings = bench_settings(db_url, amqp_url, sandbox.url,
                                  rakuten_stock_push_interval_s=params.push_interval_s)
        broker = settings.broker
        with connector(settings, sandbox.url) as (ctx, dispatch):
            with ctx.pool.connection() as conn:
                add_verified_integration(conn, ctx.cipher, integration_id=INTEGRATION,
                                         account_id=ACCOUNT, login=LOGIN, token="token")
            ingress = Ingress(str(broker.rabbitmq_url), broker.events_exchange, broker.events_queue,
                              EventHandler(ctx.pool, ctx.cipher, dispatch), is_transient=is_transient)
            publisher = ConfirmedPublisher(str(broker.rabbitmq_url), broker.events_exchange)
            stop = threading.Event()
            threads = [threading.Thread(target=ingress.run, args=(stop,), name="bench-ingress"),
                       threading.Thread(target=scheduler.run_scheduler, args=(ctx, stop),
                                        name="bench-scheduler")]
            for thread in threads:
                thread.start()
            try:
                ingress.ready.wait(WAIT_S)
                yield Rig(ctx, dispatch, sandbox, publisher, params.push_interval_s)
            finally:
                stop.set()
                for thread in threads:
                    thread.join()
                publisher.close()
                dispatch.wait_idle(WAIT_S)


def wait_quiet(rig: Rig) -> None:
    """Wait until nothing is pending and the last file is older than the push interval."""
    query = (f"SELECT NOT EXISTS (SELECT 1 FROM stock_pending) AND coalesce(now() - last_stock_file_at "
             f"> make_interval(secs => {rig.interval_s}), true) FROM integrations")
    wait_until(lambda: rig.scalar(query), poll=0.05)
    time.sleep(0.05)


def first_push_latency(rig: Rig, version: int) -> float:
    """Publish one change after a quiet period; return the seconds until its file arrived."""
    wait_quiet(rig)
    time.sleep(random.Random(version).uniform(0.0, scheduler.TICK_S))  # any phase of the tick
    before = len(rig.files())
    sku = f"SKU-{version % 500:06d}"
    published_at = datetime.now(UTC)
    rig.publisher.publish([amqp.stock_changed(ACCOUNT, sku, 1000 + version, version)])
    files = wait_until(lambda: (found := rig.files())[before:] and found)
    arrived = datetime.fromisoformat(files[before]["received_at"])
    if [sku, 1000 + version] not in files[before]["lines"]:
        raise RuntimeError(f"the first file after the change does not carry {sku}")
    return (arrived - published_at).total_seconds()


def stream_events(rig: Rig, *, rate: int, seconds: float, skus: int, first_version: int) -> dict[str, int]:
    """Publish `rate` events a second for `seconds`, in 20 ms slices; return each SKU's last quantity."""
    rng = random.Random(11)
    latest: dict[str, int] = {}
    per_slice = max(1, round(rate * 0.02))
    started = time.monotonic()
    version = first_version
    for slice_no in range(round(seconds / 0.02)):
        batch = []
        for _ in range(per_slice):
            sku, quantity = f"SKU-{rng.randrange(skus):06d}", rng.randrange(1000)
            batch.append(amqp.stock_changed(ACCOUNT, sku, quantity, version))
            latest[sku] = quantity
            version += 1
        rig.publisher.publish(batch)
        time.sleep(max(0.0, started + (slice_no + 1) * 0.02 - time.monotonic()))
    return latest


def economy(rig: Rig, params: StockParams, *, first_version: int) -> dict[str, float]:
    """Stream events, wait until the sandbox shows every latest quantity; describe the files."""
    wait_quiet(rig)
    before = len(rig.files())
    latest = stream_events(rig, rate=params.rate, seconds=params.seconds, skus=params.skus,
                           first_version=first_version)

    def settled() -> bool:
        listings = rig.sandbox.listings(LOGIN)
        return all(listings.get(sku) == quantity for sku, quantity in latest.items())

    wait_until(settled, timeout=WAIT_S + 3 * params.push_interval_s, poll=0.05)
    files = rig.files()[before:]
    times = [datetime.fromisoformat(f["received_at"]) for f in files]
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
    events = round(params.rate * 0.02) * round(params.seconds / 0.02)
    if gaps and min(gaps) < 0.95 * params.push_interval_s:
        raise RuntimeError(f"two stock files {min(gaps):.2f}s apart: the push interval is not kept")
    return {
        "events": events,
        "files": len(files),
        "events_per_file": events / len(files),
        "lines_per_file": sum(len(f["lines"]) for f in files) / len(files),
        "min_gap_s": min(gaps) if gaps else float("nan"),
    }


def run(services: Services, sandbox: Sandbox, params: StockParams) -> list[Figure]:
    """Measure figure 4 (events per file, first push latency) and return both."""
    with rig(services, sandbox, params) as running:
        latencies = [first_push_latency(running, rep) for rep in range(params.first_push_reps)]
        spread = economy(running, params, first_version=params.first_push_reps)
    if running.dispatch.errors:
        raise RuntimeError(f"stock tasks failed: {running.dispatch.errors}")
    log.info("first push %s s; economy %s", [round(x, 3) for x in latencies], spread)
    budget = 1.0 + scheduler.TICK_S
    return [
        Figure(
            key="stock_events_per_file", title="4a. Stock economy: events per Rakuten file",
            value=spread["events_per_file"], baseline=1.0, ratio=spread["events_per_file"],
            unit="events", baseline_label="one file per event", target=None,
            notes=(f"{params.rate} ev/s for {params.seconds:g}s over {params.skus} SKUs, push interval "
                   f"{params.push_interval_s:g}s: {spread['files']} files, {spread['lines_per_file']:.0f} "
                   f"SKUs/file, closest files {spread['min_gap_s']:.2f}s apart"),
            extra=spread, headline="value",
        ),
        Figure(
            key="stock_first_push_s", title="4b. First event after a quiet period -> file at sandbox",
            value=median(latencies), baseline=budget, ratio=median(latencies) / budget, unit="s",
            baseline_label=f"budget 1 s + tick {scheduler.TICK_S:g} s", target=1.0,
            higher_is_better=False,
            notes=(f"{params.first_push_reps} reps, max {max(latencies):.3f}s; "
                   "real ingress and scheduler threads"),
            extra={"latencies_s": latencies}, headline="value",
        ),
    ]
