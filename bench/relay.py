"""Figure 2: the outbox relay (pipelined publisher confirms) vs pika with one confirm per message.

Each repetition fills the outbox of a fresh database with N `order.imported`
events (untimed). Then, in alternating order: the real `OutboxRelay` claims,
publishes, waits for the confirms and marks the rows sent until none is left;
the baseline publishes the same N bodies with a pika `BlockingChannel` in
confirm mode, which waits for the broker's confirm after every message. Both
publish to the same durable queue (persistent messages, so the broker really
stores them before confirming) and both open their connection before the clock
starts. The queue is purged after each run.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pika

from bench import amqp
from bench.env import Services
from bench.stats import Figure, alternate, median, paired_ratio
from connectors.rakuten import Address, Money, Sale, SaleItem
from db import outbox
from db.pool import open_pool
from events import outbound
from events.publisher import properties
from events.relay import OutboxRelay
from workers.order_mapping import order_data

log = logging.getLogger(__name__)

EXCHANGE = "bench.events"
QUEUE = "bench.orders"
FILL_CHUNK = 1000  #: outbox rows written per transaction when filling


@dataclass(frozen=True)
class RelayParams:
    """The size of figure 2."""

    events: int
    reps: int


def sample_sale(n: int) -> Sale:
    """A two-item sale with a delivery address, as the Rakuten client returns them."""
    address = Address("Mme", "Jeanne", "Dupont", "1 rue de la Paix", None, "75002", "Paris",
                      "France", "FR", "0601020304")
    items = tuple(
        SaleItem(f"{n}{k}", f"SKU-{n % 5000:06d}", str(700_000_000 + n), "Livre de poche, bon état",
                 "TO_CONFIRM", "INCOMING", False, False, Money(Decimal("12.50")), None)
        for k in range(2)
    )
    return Sale(str(300_000_000 + n), datetime.now(UTC), "Suivi", "acheteur", "acheteur@example.test",
                address, None, None, items)


def order_events(count: int) -> list[dict[str, Any]]:
    """`count` `order.imported` CloudEvents, as `store_sales` writes them to the outbox."""
    return [
        outbound.order_imported(integration_id="int-bench", account_id="acct-bench",
                                order=order_data(sample_sale(n)))
        for n in range(count)
    ]


def fill_outbox(database_url: str, events: list[dict[str, Any]]) -> None:
    """Write the events to the outbox, as unsent rows."""
    pool = open_pool(database_url, max_size=1, name="bench-fill")
    try:
        for start in range(0, len(events), FILL_CHUNK):
            with pool.connection() as conn, conn.transaction():
                outbox.add_events(conn, events[start : start + FILL_CHUNK])
        with pool.connection() as conn:
            conn.execute("ANALYZE outbox")
    finally:
        pool.close()


def relay_all(database_url: str, amqp_url: str, count: int) -> float:
    """Relay the whole outbox with the real relay; return the seconds (connection opened first)."""
    pool = open_pool(database_url, max_size=4, name="bench-relay")
    relay = OutboxRelay(amqp_url, EXCHANGE, pool, mandatory=False)
    try:
        relay.open()
        started = time.perf_counter()
        sent = relay.relay_pending()
        seconds = time.perf_counter() - started
    finally:
        relay.close()
        pool.close()
    if sent != count:
        raise RuntimeError(f"the relay sent {sent} of {count} events")
    return seconds


def publish_one_by_one(amqp_url: str, events: list[dict[str, Any]]) -> float:
    """Publish each event and wait for its confirm (pika `BlockingChannel`); return the seconds."""
    bodies = [(str(e["type"]), outbound_body(e), str(e["id"])) for e in events]
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        started = time.perf_counter()
        for routing_key, body, message_id in bodies:
            channel.basic_publish(EXCHANGE, routing_key, body, properties(message_id))
        return time.perf_counter() - started
    finally:
        connection.close()


def outbound_body(event: dict[str, Any]) -> bytes:
    """The JSON body of an event."""
    return json.dumps(event, separators=(",", ":")).encode()


def run(services: Services, params: RelayParams) -> Figure:
    """Measure figure 2 and return it."""
    n = params.events
    events = order_events(n)
    with services.vhost() as amqp_url:
        amqp.declare_bound_queue(amqp_url, EXCHANGE, QUEUE, outbound.ORDER_IMPORTED)

        def real() -> float:
            with services.database() as db_url:
                fill_outbox(db_url, events)
                rate = n / relay_all(db_url, amqp_url, n)
            _check_and_purge(amqp_url, n)
            return rate

        def baseline() -> float:
            rate = n / publish_one_by_one(amqp_url, events)
            _check_and_purge(amqp_url, n)
            return rate

        rates, base_rates = alternate(params.reps, real, baseline)
    log.info("relay %s msg/s, one confirm each %s msg/s",
             [round(r) for r in rates], [round(r) for r in base_rates])
    return Figure(
        key="relay_ratio", title="2. Outbox relay: claim, publish with confirms, mark sent",
        value=median(rates), baseline=median(base_rates), ratio=paired_ratio(rates, base_rates),
        unit="msg/s", baseline_label="pika BlockingChannel, one confirm per message",
        target=3.0, notes=f"N={n} order.imported, {params.reps} reps, persistent, durable queue",
        extra={"relay_rates": rates, "baseline_rates": base_rates},
    )


def _check_and_purge(amqp_url: str, count: int) -> None:
    amqp.wait_for_depth(amqp_url, QUEUE, count)
    amqp.purge(amqp_url, QUEUE)
