"""Inbound messages for the benchmarks: building, publishing, counting and raw consumption."""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pika

from events.inbound import STOCK_CHANGED
from events.publisher import ConfirmedPublisher, OutgoingMessage
from events.topology import declare_exchange

PUBLISH_CHUNK = 2000  #: messages per confirmed batch when filling a queue
SETTLE_TIMEOUT_S = 60.0  #: seconds for published messages to show in a queue


def stock_changed(account_id: str, sku: str, quantity: int, version: int) -> OutgoingMessage:
    """A `stock.changed` CloudEvent as the inventory service would publish it."""
    event_id = str(uuid.uuid4())
    body = {
        "specversion": "1.0",
        "id": event_id,
        "source": "inventory-service",
        "type": STOCK_CHANGED,
        "time": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "data": {"account_id": account_id, "sku": sku, "quantity": quantity, "version": version},
    }
    return OutgoingMessage(STOCK_CHANGED, json.dumps(body, separators=(",", ":")).encode(), event_id)


def stock_events(count: int, *, accounts: Sequence[str], skus: int, seed: int = 7) -> list[OutgoingMessage]:
    """`count` events spread at random over `skus` SKUs of each account; versions increase."""
    rng = random.Random(seed)
    return [
        stock_changed(rng.choice(accounts), f"SKU-{rng.randrange(skus):06d}", rng.randrange(500), n)
        for n in range(count)
    ]


def publish(amqp_url: str, exchange: str, messages: Sequence[OutgoingMessage]) -> None:
    """Publish with confirms, in pipelined batches (the project's own publisher)."""
    publisher = ConfirmedPublisher(amqp_url, exchange)
    try:
        for start in range(0, len(messages), PUBLISH_CHUNK):
            publisher.publish(messages[start : start + PUBLISH_CHUNK])
    finally:
        publisher.close()


@contextmanager
def channel(amqp_url: str) -> Iterator[Any]:
    """A blocking channel for setup and checks."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        yield connection.channel()
    finally:
        connection.close()


def declare_bound_queue(amqp_url: str, exchange: str, queue: str, routing_key: str) -> None:
    """Declare a durable queue bound to `exchange` (declaring it too)."""
    with channel(amqp_url) as ch:
        declare_exchange(ch, exchange)
        ch.queue_declare(queue=queue, durable=True)
        ch.queue_bind(queue=queue, exchange=exchange, routing_key=routing_key)


def ready_count(amqp_url: str, queue: str) -> int:
    """Messages ready in `queue` (unacknowledged deliveries are not counted)."""
    with channel(amqp_url) as ch:
        return int(ch.queue_declare(queue=queue, passive=True).method.message_count)


def wait_for_depth(amqp_url: str, queue: str, count: int, *, timeout: float = SETTLE_TIMEOUT_S) -> None:
    """Wait until `queue` holds `count` ready messages."""
    deadline = time.monotonic() + timeout
    while (depth := ready_count(amqp_url, queue)) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{queue}: {depth} of {count} messages after {timeout}s")
        time.sleep(0.05)


def purge(amqp_url: str, queue: str) -> None:
    """Drop the ready messages of `queue`."""
    with channel(amqp_url) as ch:
        ch.queue_purge(queue)


def raw_consume(amqp_url: str, queue: str, count: int, *, prefetch: int, timeout: float) -> float:
    """Consume and acknowledge `count` messages one by one; return the seconds it took.

    The baseline of the ingress: pika's `BlockingConnection` with the same
    prefetch, one `basic_ack` per message (no `multiple`), nothing else done.
    """
    started = time.perf_counter()
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    received = 0

    def on_message(ch: Any, method: Any, _properties: Any, _body: bytes) -> None:
        nonlocal received
        ch.basic_ack(method.delivery_tag)
        received += 1
        if received >= count:
            ch.stop_consuming()

    try:
        ch = connection.channel()
        ch.basic_qos(prefetch_count=prefetch)
        ch.basic_consume(queue, on_message)
        connection.call_later(timeout, ch.stop_consuming)
        ch.start_consuming()
        seconds = time.perf_counter() - started
    finally:
        connection.close()
    if received < count:
        raise TimeoutError(f"raw consumer got {received} of {count} messages in {timeout}s")
    return seconds
