"""Operator access to the queues: their depths, and replaying the inbox's dead letters.

The ingress dead-letters a message as received, adding the headers
`x-rejection-reason` and `x-original-routing-key` (`events.ingress`). Replaying
publishes it again to the exchange with its original routing key, its body and
its properties (without those two headers), waits for the broker's confirm and
only then acknowledges it in the dead-letter queue: a message is never lost,
and at worst replayed twice (the ingress deduplicates on the event id). One
that is still bad is simply dead-lettered again, behind the ones being replayed.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pika
import pika.exceptions

from events.errors import PublishFailed
from events.topology import dead_letter_queue, declare_exchange

log = logging.getLogger(__name__)

REJECTION_REASON = "x-rejection-reason"
ORIGINAL_ROUTING_KEY = "x-original-routing-key"
_NOT_FOUND = 404  #: AMQP reply code of a passive declare of a missing queue


@dataclass(frozen=True)
class Replay:
    """What a replay did: messages moved back to the exchange, and those left in place."""

    moved: int
    #: left in the dead-letter queue: no original routing key, or no queue bound for it
    skipped: int


def queue_depths(amqp_url: str, queues: Sequence[str]) -> dict[str, int | None]:
    """Return the number of ready messages of each queue (None for a queue that does not exist)."""
    depths: dict[str, int | None] = {}
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        for queue in queues:
            depths[queue] = _depth(connection.channel(), queue)
    finally:
        connection.close()
    return depths


def _depth(channel: Any, queue: str) -> int | None:
    try:
        count = int(channel.queue_declare(queue, passive=True).method.message_count)
    except pika.exceptions.ChannelClosedByBroker as exc:
        if exc.reply_code == _NOT_FOUND:
            return None
        raise
    channel.close()
    return count


def replay_dead_letters(amqp_url: str, exchange: str, queue: str, *, limit: int | None = None) -> Replay:
    """Move up to `limit` (default: all) dead letters of `queue` back to `exchange`.

    Only the messages present at the start are looked at, so messages that are
    dead-lettered again meanwhile are not replayed in a loop. Skipped messages
    stay unacknowledged until the connection closes, then return to the queue.
    Raises `PublishFailed` when the broker refuses a message (it stays dead-lettered).
    """
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        depth = _depth(connection.channel(), dead_letter_queue(queue))
        if not depth:
            return Replay(0, 0)
        channel = connection.channel()
        declare_exchange(channel, exchange)
        channel.confirm_delivery()
        budget = depth if limit is None else min(depth, limit)
        moved = skipped = 0
        for _ in range(budget):
            method, properties, body = channel.basic_get(dead_letter_queue(queue), auto_ack=False)
            if method is None:
                break
            if _republish(channel, exchange, properties, body):
                channel.basic_ack(method.delivery_tag)
                moved += 1
            else:
                skipped += 1
        return Replay(moved, skipped)
    finally:
        connection.close()


def _republish(channel: Any, exchange: str, properties: pika.BasicProperties, body: bytes) -> bool:
    """Publish one dead letter with its original routing key; False when it cannot be routed."""
    headers = dict(properties.headers or {})
    routing_key = headers.pop(ORIGINAL_ROUTING_KEY, None)
    headers.pop(REJECTION_REASON, None)
    if isinstance(routing_key, bytes):
        routing_key = routing_key.decode("utf-8", "replace")
    if not isinstance(routing_key, str) or not routing_key:
        log.warning("dead letter %r has no %s header: left in place", properties.message_id,
                    ORIGINAL_ROUTING_KEY)
        return False
    restored = copy.copy(properties)
    restored.headers = headers or None
    try:
        channel.basic_publish(exchange, routing_key, body, restored, mandatory=True)
    except pika.exceptions.UnroutableError:
        log.warning("dead letter %r: no queue is bound for %r: left in place",
                    properties.message_id, routing_key)
        return False
    except pika.exceptions.NackError as exc:
        raise PublishFailed(f"the broker refused dead letter {properties.message_id!r}") from exc
    return True
