"""Figure 5: figures 1 and 3 with one and two worker processes, and memory over a long run.

- Ingress: N `stock.changed` wait in the inbox queue; one or two processes, each
  running the real `Ingress` and `EventHandler` on the same queue and database,
  consume them; the clock runs from "go" (every process connected and ready)
  until all N are committed. The same run samples each process's RSS.
- Orders: two integrations (two sandbox sellers with S sales each) on one
  database; one process imports both one after the other, or two processes one
  each; the clock runs until every order is stored and published.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from bench import amqp
from bench.env import NO_RAKUTEN, Services, add_verified_integration, bench_settings
from bench.ingress import accounts, seed_integrations
from bench.memory import Sampler, Trace
from bench.orders import QUEUE, TOKEN, seed_sales
from bench.procs import SPAWN, Children, import_child, ingress_child
from bench.stats import Figure
from connectors.rakuten.sandbox import Sandbox
from db.pool import open_pool
from events import outbound
from events.topology import declare_topology
from workers.crypto import TokenCipher
from workers.settings import Settings

log = logging.getLogger(__name__)

TIMEOUT_S = 600.0  #: seconds one run may take


@dataclass(frozen=True)
class ScalingParams:
    """The size of figure 5."""

    events: int  #: events consumed per ingress run (the memory run)
    sales: int  #: sales per integration in the order runs


@dataclass(frozen=True)
class Run:
    """One run with some processes: throughput and each process's memory trace."""

    processes: int
    rate: float  #: events or orders per second
    traces: list[Trace]


def _settings_kw(settings: Settings) -> dict[str, Any]:
    """The overrides that rebuild `settings` in a child process."""
    key = settings.security.token_encryption_key
    assert key is not None
    return {
        "database_url": str(settings.database.database_url),
        "rabbitmq_url": str(settings.broker.rabbitmq_url),
        "rakuten_base_url": str(settings.rakuten.rakuten_base_url),
        "events_exchange": settings.broker.events_exchange,
        "events_queue": settings.broker.events_queue,
        "token_encryption_key": key.get_secret_value(),
        "metrics_port": 0,
    }


def ingress_run(services: Services, events: int, processes: int) -> Run:
    """Consume `events` with `processes` ingress processes; sample their memory."""
    with services.vhost() as amqp_url, services.database() as db_url:
        settings = bench_settings(db_url, amqp_url, NO_RAKUTEN)
        account_ids = accounts(10)
        seed_integrations(settings, account_ids)
        broker = settings.broker
        with amqp.channel(amqp_url) as ch:
            declare_topology(ch, broker.events_exchange, broker.events_queue)
        amqp.publish(amqp_url, broker.events_exchange, amqp.stock_events(events, accounts=account_ids,
                                                                         skus=2000))
        amqp.wait_for_depth(amqp_url, broker.events_queue, events)
        counters = [SPAWN.Value("q", 0) for _ in range(processes)]

        def applied() -> int:
            return sum(int(counter.value) for counter in counters)

        with Children(ingress_child, [(_settings_kw(settings), c) for c in counters]) as kids:
            with Sampler(kids.pids, lambda: applied() / events) as sampler:
                kids.go.set()
                started = time.perf_counter()
                while applied() < events:
                    kids.check()
                    if time.perf_counter() - started > TIMEOUT_S:
                        raise TimeoutError(f"{applied()} of {events} events applied in {TIMEOUT_S}s")
                    time.sleep(0.01)
                seconds = time.perf_counter() - started
                sampler.finish()
    return Run(processes, events / seconds, sampler.traces)


def orders_run(services: Services, sandbox: Sandbox, sales: int, processes: int) -> Run:
    """Import two integrations' orders with `processes` processes; sample their memory."""
    logins = ["bench-scale-1", "bench-scale-2"]
    with services.vhost() as amqp_url, services.database() as db_url:
        settings = bench_settings(db_url, amqp_url, sandbox.url)
        amqp.declare_bound_queue(amqp_url, settings.broker.events_exchange, QUEUE, outbound.ORDER_IMPORTED)
        cipher = TokenCipher(settings.require_token_key())
        pool = open_pool(db_url, max_size=1, name="bench-seed")
        try:
            with pool.connection() as conn:
                for login in logins:
                    add_verified_integration(conn, cipher, integration_id=f"int-{login}",
                                             account_id=f"acct-{login}", login=login, token=TOKEN,
                                             stock_sync=False)
            ids = [f"int-{login}" for login in logins]
            shares = [ids] if processes == 1 else [[i] for i in ids]
            results = SPAWN.Queue()
            args = [(_settings_kw(settings), sandbox.url, share, results) for share in shares]
            with Children(import_child, args) as kids, Sampler(kids.pids, lambda: 0.0) as sampler:
                kids.go.set()
                seconds = max(results.get(timeout=TIMEOUT_S) for _ in shares)
                sampler.finish()
            amqp.wait_for_depth(amqp_url, QUEUE, 2 * sales)
            with pool.connection() as conn:
                row = conn.execute("SELECT count(*), count(sent_at) FROM outbox").fetchone()
            if row is None or tuple(row) != (2 * sales, 2 * sales):
                raise RuntimeError(f"outbox (rows, sent) {row}, expected {2 * sales} of each")
        finally:
            pool.close()
    return Run(processes, 2 * sales / seconds, sampler.traces)


def seed(sandbox: Sandbox, sales: int) -> None:
    """The two sellers of the order runs."""
    for login in ("bench-scale-1", "bench-scale-2"):
        seed_sales(sandbox, login, sales)


def _peaks(runs: dict[int, Run]) -> str:
    return "; ".join(
        f"{n} proc: " + "/".join(f"{t.peak_kib / 1024:.0f}" for t in run.traces) + " MiB"
        for n, run in runs.items()
    )


def run(services: Services, sandbox: Sandbox, params: ScalingParams) -> list[Figure]:
    """Measure figure 5 and return its three lines."""
    seed(sandbox, params.sales)
    ingress = {n: ingress_run(services, params.events, n) for n in (1, 2)}
    imports = {n: orders_run(services, sandbox, params.sales, n) for n in (1, 2)}
    traces = [t for r in ingress.values() for t in r.traces]
    worst = max(traces, key=lambda t: abs(t.growth_after_warm_up()))
    growth = worst.growth_after_warm_up()
    after = [rss for progress, rss in worst.samples if progress >= 0.2]
    log.info("scaling: ingress %s, orders %s", {n: round(r.rate) for n, r in ingress.items()},
             {n: round(r.rate) for n, r in imports.items()})
    return [
        Figure(
            key="scaling_ingress_ratio", title="5a. Ingress with 2 processes vs 1",
            value=ingress[2].rate, baseline=ingress[1].rate, ratio=ingress[2].rate / ingress[1].rate,
            unit="msg/s", baseline_label="1 ingress process",
            notes=f"N={params.events} each; peak RSS {_peaks(ingress)}",
        ),
        Figure(
            key="scaling_orders_ratio", title="5b. Order import with 2 processes vs 1",
            value=imports[2].rate, baseline=imports[1].rate, ratio=imports[2].rate / imports[1].rate,
            unit="orders/s", baseline_label="1 process, both integrations",
            notes=f"2 integrations x {params.sales} sales; peak RSS {_peaks(imports)}",
        ),
        Figure(
            key="memory_growth_ratio", title="5c. Ingress RSS after warm-up (worst process)",
            value=max(after, key=lambda rss: abs(rss - after[0])) / 1024, baseline=after[0] / 1024,
            ratio=1.0 + growth, unit="MiB", baseline_label="RSS at 20% of the events",
            target=1.10, higher_is_better=False,
            notes=f"{len(traces)} processes over {params.events} events each, sampled every 0.2 s",
            extra={"growth": {f"pid {t.pid}": t.growth_after_warm_up() for t in traces},
                   "samples_kib": {f"pid {t.pid}": t.samples for t in traces}},
        ),
    ]
