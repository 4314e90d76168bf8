"""The RabbitMQ topology of CONTRACT §2: exchange, inbox queue and its dead letters."""

from __future__ import annotations

from typing import Any

from events.inbound import INBOUND_TYPES


def dead_letter_queue(queue: str) -> str:
    """Return the name of the dead-letter queue of `queue`."""
    return f"{queue}.dead"


def declare_exchange(channel: Any, exchange: str) -> None:
    """Declare the durable topic exchange of the events (idempotent)."""
    channel.exchange_declare(exchange=exchange, exchange_type="topic", durable=True)


def declare_topology(channel: Any, exchange: str, queue: str) -> None:
    """Declare the exchange, the inbox queue bound to the inbound types and its dead letters.

    `channel` is a pika `BlockingChannel`. Every declaration is idempotent, so each
    ingress process runs it at start.
    """
    declare_exchange(channel, exchange)
    channel.queue_declare(queue=queue, durable=True)
    for routing_key in INBOUND_TYPES:
        channel.queue_bind(queue=queue, exchange=exchange, routing_key=routing_key)
    channel.queue_declare(queue=dead_letter_queue(queue), durable=True)
