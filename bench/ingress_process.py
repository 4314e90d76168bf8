"""Figure 1b: figure 1 through the real `rakuten-worker ingress` process instead of a thread.

Figure 1 runs the `Ingress` class in a thread of the benchmark process (its
metrics in the process's own registry, no logging set up). Here the same N
`stock.changed` wait in the inbox queue and `python -m workers ingress` is
started on them as an operator starts it: settings from the environment,
logging, Prometheus metrics in a multiprocess folder, the Dramatiq broker. The
clock runs from the moment its consumer shows on the queue until all N events
are committed in the inbox table (counted every 50 ms on one open connection);
the baseline is the raw pika consumer of figure 1 on the same N, alternated.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from typing import Any

import psycopg
from cryptography.fernet import Fernet

from bench import amqp
from bench.env import NO_RAKUTEN, Services, bench_settings
from bench.ingress import RAW_QUEUE, TIMEOUT_S, IngressParams, accounts, seed_integrations
from bench.runproc import ROOT, consumers, environment
from bench.stats import Figure, alternate, median, paired_ratio
from events.topology import declare_topology

log = logging.getLogger(__name__)

POLL_S = 0.05  #: seconds between two looks at the inbox (on one open connection: cheap)


def _inbox_count(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT count(*) FROM inbox").fetchone()
    return int(row[0]) if row else 0


def consume_with_process(database_url: str, amqp_url: str, settings_env: dict[str, str], count: int) -> float:
    """Start `rakuten-worker ingress`; the seconds from its consumer showing to `count` events stored."""
    env = environment({"DATABASE_URL": database_url, "RABBITMQ_URL": amqp_url, **settings_env})
    process = subprocess.Popen([sys.executable, "-m", "workers", "ingress"], env=env, cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with psycopg.connect(database_url, autocommit=True) as conn:
            deadline = time.monotonic() + TIMEOUT_S
            while consumers(amqp_url, settings_env["EVENTS_QUEUE"]) == 0:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the ingress process did not start ({process.returncode})")
                time.sleep(0.02)
            started = time.perf_counter()
            while (stored := _inbox_count(conn)) < count:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the ingress process stored {stored} of {count}")
                time.sleep(POLL_S)
            return time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(30)


def run(services: Services, params: IngressParams) -> Figure:
    """Measure figure 1b and return it."""
    account_ids = accounts(params.accounts)
    n = params.events
    with services.vhost() as amqp_url:
        settings = bench_settings(services.admin_url, amqp_url, NO_RAKUTEN)
        broker = settings.broker
        with amqp.channel(amqp_url) as ch:
            declare_topology(ch, broker.events_exchange, broker.events_queue)
        amqp.declare_bound_queue(amqp_url, broker.events_exchange, RAW_QUEUE, "stock.changed")
        key = Fernet.generate_key().decode()
        settings_env = {"EVENTS_EXCHANGE": broker.events_exchange, "EVENTS_QUEUE": broker.events_queue,
                        "TOKEN_ENCRYPTION_KEY": key, "METRICS_PORT": "0", "RAKUTEN_BASE_URL": NO_RAKUTEN}

        def publish(rep: int) -> None:
            amqp.publish(amqp_url, broker.events_exchange,
                         amqp.stock_events(n, accounts=account_ids, skus=params.skus, seed=100 + rep))
            amqp.wait_for_depth(amqp_url, RAW_QUEUE, n)
            amqp.wait_for_depth(amqp_url, broker.events_queue, n)

        def raw() -> float:
            return n / amqp.raw_consume(amqp_url, RAW_QUEUE, n, prefetch=params.prefetch, timeout=TIMEOUT_S)

        def real() -> float:
            with services.database() as db_url:
                seed_integrations(bench_settings(db_url, amqp_url, NO_RAKUTEN, token_encryption_key=key),
                                  account_ids)
                return n / consume_with_process(db_url, amqp_url, settings_env, n)

        rates, raw_rates = alternate(params.reps, real, raw, before_each=publish)
    log.info("ingress process %s msg/s, raw %s msg/s",
             [round(r) for r in rates], [round(r) for r in raw_rates])
    return Figure(
        key="ingress_process_ratio", title="1b. Ingress as `rakuten-worker ingress` (a process of its own)",
        value=median(rates), baseline=median(raw_rates), ratio=paired_ratio(rates, raw_rates),
        unit="msg/s", baseline_label=f"raw pika consume + ack each (prefetch {params.prefetch})",
        target=0.8,
        notes=f"N={n}, {params.reps} reps; clock from its consumer on the queue to N in the inbox",
        extra={"ingress_rates": rates, "raw_rates": raw_rates},
    )
