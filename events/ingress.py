"""The inbound consumer: validate, dead-letter or batch events to a handler, then ack.

One pika `BlockingConnection` per ingress, driven by `run()` in one thread. The
messages that arrived within `max_batch_wait` (up to `max_batch_size`) form a
batch: invalid ones are dead-lettered (published with a confirm to
`<queue>.dead`), other apps' events are skipped, the valid ones go to the handler
in one call (one database transaction), and the whole batch is acknowledged with
one `basic_ack(multiple=True)` only after that.

A batch that fails is applied again event by event, so an event the database
refuses costs the others of its batch one more attempt, no more. A single event
whose failure no retry cures (a data exception, an integrity violation, a
program limit: `is_transient` says so from the SQLSTATE) is dead-lettered with
the reason; one that fails "transiently" is retried with backoff until its
`RetryBudget` runs out (attempts or seconds), then dead-lettered too. While the
database does not answer at all (`database_answers`), the ingress waits for it
and charges no event: an outage loses nothing and dead-letters nothing. On
connection loss, unacknowledged messages go back to the queue; the handler's
inbox dedupe makes their redelivery harmless.
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

from db.errors import describe, retryable
from events import metrics
from events.errors import EventIgnored, InvalidEvent, RejectionKind
from events.inbound import InboundEvent, parse_inbound
from events.retries import RetryBudget
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
    mean "try again later" (a database that is down or busy) rather than "this
    event cannot be applied"; an event failing transiently is given up on after
    `max_attempts` attempts or `retry_window_s` seconds. `database_answers` probes
    the database after a transient failure: while it says no, the ingress waits
    and counts nothing against the events. `ready` is set (and `on_ready` called,
    once) after the topology is declared and consumption has started.
    """

    def __init__(
        self,
        amqp_url: str,
        exchange: str,
        queue: str,
        handler: Handler,
        *,
        is_transient: Callable[[BaseException], bool] = retryable,
        database_answers: Callable[[], bool] = lambda: True,
        max_attempts: int = 8,
        retry_window_s: float = 300.0,
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
        self._database_answers = database_answers
        self._budget = RetryBudget(max_attempts=max_attempts, window_s=retry_window_s)
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
        """Apply the batch at once, else event by event, dead-lettering what cannot be applied."""
        if len(valid) > 1 and self._apply_batch([event for _, event in valid], session, stop):
            return
        for delivery, event in valid:
            self._apply_one(session, delivery, event, stop)

    def _apply_batch(self, events: list[InboundEvent], session: _Session, stop: threading.Event) -> bool:
        """Apply the whole batch; return False when it failed and must be applied event by event.

        Only when the database did not answer at all is the batch tried again as
        a whole (once, after the database is back): no event of it is at fault.
        """
        for attempt in (1, 2):
            try:
                self._call_handler(events)
                return True
            except Exception as exc:
                if attempt == 1 and self._is_transient(exc) and not self._database_answers():
                    log.warning("batch of %r events failed (%s) and the database does not answer; "
                                "waiting for it", len(events), describe(exc))
                    metrics.HANDLER_RETRIES.inc()
                    self._wait_for_database(session, stop)
                    continue
                log.warning("batch of %r events failed (%s); applying them one by one",
                            len(events), describe(exc))
                return False
        return False

    def _apply_one(
        self, session: _Session, delivery: _Delivery, event: InboundEvent, stop: threading.Event
    ) -> None:
        """Apply one event, retrying transient failures within its budget; else dead-letter it."""
        delay = INITIAL_BACKOFF
        while True:
            try:
                self._call_handler([event])
                self._budget.forget(event.id)
                return
            except Exception as exc:
                if not self._is_transient(exc):
                    self._dead_letter(session, delivery, f"handler failed: {describe(exc)}", "handler_failed")
                    return
                failures = self._budget.failed(event.id)
                if self._budget.exhausted(failures):
                    self._budget.forget(event.id)
                    reason = (f"handler failed transiently {failures.attempts} time(s) in "
                              f"{failures.age(time.monotonic()):.0f}s: {describe(exc)}")
                    self._dead_letter(session, delivery, reason, "handler_retries_exhausted")
                    return
                log.warning("event %r failed transiently (%s), attempt %d; retrying in %rs",
                            event.id[:100], describe(exc), failures.attempts, delay)
                metrics.HANDLER_RETRIES.inc()
                if not self._database_answers():
                    self._budget.waited(event.id, self._wait_for_database(session, stop))
                _sleep(session.connection, delay, stop)
                delay = min(delay * 2, MAX_BACKOFF)

    def _wait_for_database(self, session: _Session, stop: threading.Event) -> float:
        """Wait (serving heartbeats) until the database answers; return the seconds waited."""
        began = time.monotonic()
        delay = INITIAL_BACKOFF
        while not self._database_answers():
            _sleep(session.connection, delay, stop)
            delay = min(delay * 2, MAX_BACKOFF)
        return time.monotonic() - began

    def _call_handler(self, events: list[InboundEvent]) -> None:
        """Call the handler once and count the events it applied."""
        self._handler(events)
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
