"""Figure 1: inbound `stock.changed` events through the real ingress vs a raw pika consumer.

Each repetition publishes N events once to the exchange, where two durable
queues receive them: the ingress's inbox queue and a raw queue. Then, in
alternating order, a raw pika consumer takes and acknowledges its N messages
one by one, and the real `Ingress` with the real `EventHandler` validates,
deduplicates (inbox table), applies (stock levels, pending marks) and
acknowledges its N, on a fresh database, until every event is committed and
the queue is empty.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg

from bench import amqp
from bench.dispatch import NullDispatcher
from bench.env import NO_RAKUTEN, Services, add_verified_integration, bench_settings
from bench.stats import Figure, alternate, median, paired_ratio
from db.pool import open_pool
from events.inbound import InboundEvent
from events.ingress import Ingress
from events.topology import declare_topology
from workers.crypto import TokenCipher
from workers.handlers import EventHandler, is_transient
from workers.settings import Settings

log = logging.getLogger(__name__)

RAW_QUEUE = "bench.raw"
TIMEOUT_S = 300.0  #: seconds one consumption may take before the benchmark fails


@dataclass(frozen=True)
class IngressParams:
    """The size of figure 1."""

    events: int
    reps: int
    prefetch: int = 500
    accounts: int = 10
    skus: int = 2000  #: SKUs per account


def accounts(count: int) -> list[str]:
    """The account ids the events spread over."""
    return [f"acct-{n}" for n in range(count)]


def seed_integrations(settings: Settings, account_ids: Sequence[str]) -> None:
    """One verified integration with stock sync per account, so events mark SKUs pending."""
    cipher = TokenCipher(settings.require_token_key())
    pool = open_pool(str(settings.database.database_url), max_size=1, name="bench-seed")
    try:
        with pool.connection() as conn:
            for account_id in account_ids:
                add_verified_integration(conn, cipher, integration_id=f"int-{account_id}",
                                         account_id=account_id, login=f"shop-{account_id}",
                                         token="token")
    finally:
        pool.close()


def consume_with_ingress(
    settings: Settings, count: int, *, prefetch: int, timeout: float = TIMEOUT_S
) -> float:
    """Run the real ingress until `count` events are committed; return the seconds it took."""
    started = time.perf_counter()
    pool = open_pool(str(settings.database.database_url), max_size=2, name="bench-ingress")
    handler = EventHandler(pool, TokenCipher(settings.require_token_key()), NullDispatcher())
    applied = 0
    all_applied = threading.Event()

    def counting(events: Sequence[InboundEvent]) -> None:
        nonlocal applied
        handler(events)
        applied += len(events)
        if applied >= count:
            all_applied.set()

    broker = settings.broker
    ingress = Ingress(str(broker.rabbitmq_url), broker.events_exchange, broker.events_queue,
                      counting, is_transient=is_transient, prefetch=prefetch,
                      max_batch_size=prefetch)
    stop = threading.Event()
    thread = threading.Thread(target=ingress.run, args=(stop,), name="bench-ingress")
    thread.start()
    try:
        if not all_applied.wait(timeout):
            raise TimeoutError(f"ingress applied {applied} of {count} events in {timeout}s")
        seconds = time.perf_counter() - started
    finally:
        stop.set()
        thread.join()
        pool.close()
    return seconds


def run(services: Services, params: IngressParams) -> Figure:
    """Measure figure 1 and return it."""
    with services.vhost() as amqp_url:
        rates, raw_rates = _measure(services, params, amqp_url)
    log.info("ingress %s msg/s, raw %s msg/s", [round(r) for r in rates], [round(r) for r in raw_rates])
    return Figure(
        key="ingress_ratio", title="1. Ingress: stock.changed validated, deduplicated, applied, acked",
        value=median(rates), baseline=median(raw_rates), ratio=paired_ratio(rates, raw_rates),
        unit="msg/s", baseline_label=f"raw pika consume + ack each (prefetch {params.prefetch})",
        target=0.5,
        notes=f"N={params.events}, {params.reps} reps, prefetch {params.prefetch}, batch {params.prefetch}",
        extra={"ingress_rates": rates, "raw_rates": raw_rates},
    )


def _measure(services: Services, params: IngressParams, amqp_url: str) -> tuple[list[float], list[float]]:
    account_ids = accounts(params.accounts)
    settings = bench_settings(services.admin_url, amqp_url, NO_RAKUTEN)
    broker = settings.broker
    with amqp.channel(amqp_url) as ch:
        declare_topology(ch, broker.events_exchange, broker.events_queue)
    amqp.declare_bound_queue(amqp_url, broker.events_exchange, RAW_QUEUE, "stock.changed")
    n = params.events

    def publish(rep: int) -> None:
        messages = amqp.stock_events(n, accounts=account_ids, skus=params.skus, seed=rep)
        amqp.publish(amqp_url, broker.events_exchange, messages)
        amqp.wait_for_depth(amqp_url, RAW_QUEUE, n)
        amqp.wait_for_depth(amqp_url, broker.events_queue, n)

    def raw() -> float:
        return n / amqp.raw_consume(amqp_url, RAW_QUEUE, n, prefetch=params.prefetch, timeout=TIMEOUT_S)

    def real() -> float:
        with services.database() as db_url:
            run_settings = bench_settings(db_url, amqp_url, NO_RAKUTEN)
            seed_integrations(run_settings, account_ids)
            rate = n / consume_with_ingress(run_settings, n, prefetch=params.prefetch)
            with psycopg.connect(db_url) as conn:
                row = conn.execute("SELECT count(*) FROM inbox").fetchone()
            if row is None or row[0] != n:
                raise RuntimeError(f"{row} events in the inbox table, expected {n}")
        if (left := amqp.ready_count(amqp_url, broker.events_queue)) != 0:
            raise RuntimeError(f"{left} messages left in the inbox after the ingress stopped")
        return rate

    return alternate(params.reps, real, raw, before_each=publish)
