"""The inbound consumer: validate, dead-letter or batch events to a handler, then ack.

One pika `BlockingConnection` per ingress, driven by `run()` in one thread. The
messages that arrived within `max_batch_wait` (up to `max_batch_size`) form a
batch: invalid ones are dead-lettered (published with a confirm to
`<queue>.dead`), other apps' events are skipped, the valid ones go to the handler
in one call (one database transaction), and the whole batch is acknowledged with
one `basic_ack(multiple=True)` only after that. A failed batch is retried
(transient error: the whole batch, with backoff) or split into single events
(any other error), and a single event whose handler fails for good is
dead-lettered, so a bad message never blocks those behind it and a database
outage loses nothing. On connection loss, unacknowledged messages go back to the
queue; the handler's inbox dedupe makes their redelivery harmless.
"""

from __future__ import annotations

import collections
import copy
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pika
import pika.exceptions

from events import metrics
from events.errors import EventIgnored, InvalidEvent, RejectionKind
from events.inbound import InboundEvent, parse_inbound
from events.topology import dead_letter_queue, declare_topology

log = logging.getLogger(__name__)

Handler = Callable[[Sequence[InboundEvent]], None]
INITIAL_BACKOFF = 0.5  #: seconds before the first retry of a transient failure
MAX_BACKOFF = 30.0  #: seconds, the longest wait between retries or reconnections
IDLE_POLL = 0.2  #: seconds between checks of `stop` while the queue is empty
#: Broker failures after which the ingress reconnects (unacked messages are redelivered).
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (pika.exceptions.AMQPError, OSError)


@dataclass(slots=True)
class _Delivery:
    tag: int
    routing_key: str
    properties: pika.BasicProperties
    body: bytes


@dataclass(slots=True)
class _Session:
    connection: pika.BlockingConnection
    channel: Any
    dead_channel: Any


class _Stopping(Exception):
    """Raised inside the ingress when `stop` is set while waiting to retry a batch."""


class Ingress:
    """Consumes the inbox queue and hands batches of valid events to `handler`.

    `handler` applies the events in one transaction (deduplicating with the inbox
    table) and returns after the commit. `is_transient` tells which of its errors
    mean "try again later" (a database that is down) rather than "this event
    cannot be applied". `ready` is set (and `on_ready` called, once) after the
    topology is declared and consumption has started.
    """

    def __init__(
        self,
        amqp_url: str,
        exchange: str,
        queue: str,
        handler: Handler,
        *,
        is_transient: Callable[[BaseException], bool],
        prefetch: int = 500,
        max_batch_size: int = 500,
        max_batch_wait: float = 0.05,
        on_ready: Callable[[], None] | None = None,
    ) -> None:
        self._params = pika.URLParameters(amqp_url)
        self._params.client_properties = {"connection_name": f"rakuten-ingress:{queue}"}
        self._exchange = exchange
        self._queue = queue
        self._handler = handler
        self._is_transient = is_transient
        self._prefetch = prefetch
        self._max_batch_size = max_batch_size
        self._max_batch_wait = max_batch_wait
        self._on_ready = on_ready
        self._pending: list[_Delivery] = []
        self._cancelled = False
        self.ready = threading.Event()

    def run(self, stop: threading.Event) -> None:
        """Consume until `stop` is set, reconnecting with backoff when the broker goes away.

        When `stop` is set, the current batch is finished and acknowledged, then
        the connection is closed (prefetched messages go back to the queue).
        """
        delay = INITIAL_BACKOFF
        while not stop.is_set():
            try:
                session = self._open()
            except CONNECTION_ERRORS as exc:
                log.warning("cannot connect to RabbitMQ (%r); retrying in %rs", exc, delay)
                stop.wait(delay)
                delay = min(delay * 2, MAX_BACKOFF)
                continue
            delay = INITIAL_BACKOFF
            try:
                self._consume(session, stop)
            except _Stopping:
                log.info("stopping while a batch waits for a retry; it will be redelivered")
            except CONNECTION_ERRORS as exc:
                log.warning("RabbitMQ connection lost (%r); reconnecting", exc)
                stop.wait(delay)
            finally:
                self._pending.clear()
                _close_quietly(session.connection)
        log.info("ingress on %r stopped", self._queue)

    def _open(self) -> _Session:
        connection = pika.BlockingConnection(self._params)
        try:
            channel = connection.channel()
            declare_topology(channel, self._exchange, self._queue)
            dead_channel = connection.channel()
            dead_channel.confirm_delivery()
            channel.basic_qos(prefetch_count=self._prefetch)
            channel.add_on_cancel_callback(self._on_cancelled)
            channel.basic_consume(self._queue, self._on_message)
        except BaseException:
            _close_quietly(connection)
            raise
        log.info("ingress consuming %r (exchange %r)", self._queue, self._exchange)
        if not self.ready.is_set():
            self.ready.set()
            if self._on_ready is not None:
                self._on_ready()
        return _Session(connection, channel, dead_channel)

    def _on_message(
        self, _channel: Any, method: Any, properties: pika.BasicProperties, body: bytes
    ) -> None:
        self._pending.append(_Delivery(method.delivery_tag, method.routing_key, properties, body))

    def _on_cancelled(self, _frame: Any) -> None:
        # RabbitMQ cancels the consumer when the queue is deleted (or its node
        # fails); reconnecting declares the queue again.
        self._cancelled = True

    def _consume(self, session: _Session, stop: threading.Event) -> None:
        self._cancelled = False
        while not stop.is_set():
            if self._cancelled:
                raise pika.exceptions.ConsumerCancelled("the broker cancelled the consumer")
            batch = self._collect(session.connection, stop)
            if batch:
                self._process(session, batch, stop)

    def _collect(self, connection: pika.BlockingConnection, stop: threading.Event) -> list[_Delivery]:
        """Wait for a full batch, or for `max_batch_wait` after the first message."""
        deadline: float | None = None
        while len(self._pending) < self._max_batch_size and not (stop.is_set() or self._cancelled):
            if self._pending:
                now = time.monotonic()
                deadline = now + self._max_batch_wait if deadline is None else deadline
                if now >= deadline:
                    break
                connection.process_data_events(time_limit=deadline - now)
            else:
                connection.process_data_events(time_limit=IDLE_POLL)
        batch = self._pending[: self._max_batch_size]
        del self._pending[: self._max_batch_size]
        return batch

    def _process(self, session: _Session, batch: list[_Delivery], stop: threading.Event) -> None:
        valid: list[tuple[_Delivery, InboundEvent]] = []
        ignored: collections.Counter[str] = collections.Counter()
        for delivery in batch:
            try:
                event = parse_inbound(delivery.body, delivery.properties.content_type)
            except EventIgnored as exc:
                ignored[exc.event_type] += 1
                continue
            except InvalidEvent as exc:
                self._dead_letter(session, delivery, exc.reason, exc.kind)
                continue
            valid.append((delivery, event))
        if valid:
            self._apply(session, valid, stop)
        session.channel.basic_ack(batch[-1].tag, multiple=True)
        for event_type, count in ignored.items():
            metrics.EVENTS_IGNORED.labels(event_type).inc(count)
        metrics.INGRESS_BATCHES.inc()
        metrics.INGRESS_LAST_BATCH_SIZE.set(len(batch))

    def _apply(
        self, session: _Session, valid: list[tuple[_Delivery, InboundEvent]], stop: threading.Event
    ) -> None:
        """Apply the batch at once, else event by event, dead-lettering permanent failures."""
        if len(valid) > 1:
            try:
                self._call_handler([event for _, event in valid], session, stop)
                return
            except _Stopping:
                raise
            except Exception as exc:
                log.warning("batch of %r events failed (%r); applying them one by one",
                            len(valid), type(exc).__name__)
        for delivery, event in valid:
            try:
                self._call_handler([event], session, stop)
            except _Stopping:
                raise
            except Exception as exc:
                reason = f"handler failed: {type(exc).__name__}"
                self._dead_letter(session, delivery, reason, "handler_failed")

    def _call_handler(
        self, events: list[InboundEvent], session: _Session, stop: threading.Event
    ) -> None:
        """Call the handler, retrying transient errors with backoff until it succeeds."""
        delay = INITIAL_BACKOFF
        while True:
            try:
                self._handler(events)
                break
            except Exception as exc:
                if not self._is_transient(exc):
                    raise
                log.warning("handler failed transiently (%r); retrying %r events in %rs",
                            type(exc).__name__, len(events), delay)
                metrics.HANDLER_RETRIES.inc()
                _sleep(session.connection, delay, stop)
                delay = min(delay * 2, MAX_BACKOFF)
        counts = collections.Counter(event.type for event in events)
        for event_type, count in counts.items():
            metrics.EVENTS_CONSUMED.labels(event_type).inc(count)

    def _dead_letter(
        self, session: _Session, delivery: _Delivery, reason: str, kind: RejectionKind
    ) -> None:
        """Publish the message, as received, to the dead-letter queue and wait for the confirm."""
        properties = copy.copy(delivery.properties)
        properties.headers = {
            **(delivery.properties.headers or {}),
            "x-rejection-reason": reason,
            "x-original-routing-key": delivery.routing_key,
        }
        properties.delivery_mode = 2
        session.dead_channel.basic_publish(
            "", dead_letter_queue(self._queue), delivery.body, properties, mandatory=True
        )
        metrics.EVENTS_DEAD_LETTERED.labels(kind).inc()
        log.warning("dead-lettered message %r (routing key %r): %r",
                    delivery.properties.message_id, delivery.routing_key, reason)


def _sleep(connection: pika.BlockingConnection, seconds: float, stop: threading.Event) -> None:
    """Wait while serving heartbeats; raise `_Stopping` as soon as `stop` is set."""
    deadline = time.monotonic() + seconds
    while (remaining := deadline - time.monotonic()) > 0:
        if stop.is_set():
            raise _Stopping
        connection.sleep(min(remaining, IDLE_POLL))


def _close_quietly(connection: pika.BlockingConnection) -> None:
    try:
        if connection.is_open:
            connection.close()
    except CONNECTION_ERRORS as exc:
        log.debug("closing the connection failed: %r", exc)
