"""Publishing with pipelined publisher confirms, for the outbox relay.

Why pika's `SelectConnection` on a dedicated I/O thread: pika's `BlockingChannel`
waits for the broker's confirm after every `basic_publish`, one round trip per
message. The asynchronous connection lets a whole batch be written at once and
its confirms (often one `multiple` ack) be counted as they arrive, with no new
dependency (aio-pika would bring asyncio, aiormq and pamqp for the same result).
Its I/O loop is not thread-safe, so callers hand batches over with
`add_callback_threadsafe` and wait on an event; a lock serialises batches.

A connection that is lost (or a channel the broker closed) fails the batch in
flight with `PublishFailed`; the next call connects again.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pika
from pika.spec import Basic

from events import metrics
from events.errors import PublishFailed
from events.topology import declare_exchange

log = logging.getLogger(__name__)

CONTENT_TYPE = "application/cloudevents+json"
CONNECT_TIMEOUT = 10.0  #: seconds to open the connection and confirm-mode channel
CONFIRM_TIMEOUT = 30.0  #: seconds to wait for the confirms of one batch


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One CloudEvent to publish: routing key (its type), JSON body and id."""

    routing_key: str
    body: bytes
    message_id: str


def properties(message_id: str) -> pika.BasicProperties:
    """Return the contract's AMQP properties of a published event."""
    return pika.BasicProperties(
        content_type=CONTENT_TYPE, delivery_mode=2, message_id=message_id
    )


@dataclass(eq=False)
class _Batch:
    """Messages published together; settled when every tag is acked or on the first failure."""

    messages: Sequence[OutgoingMessage]
    done: threading.Event = field(default_factory=threading.Event)
    error: str | None = None
    first: int = 0
    low: int = 0
    last: int = -1
    outstanding: set[int] = field(default_factory=set)

    def fail(self, error: str) -> None:
        if self.error is None:
            self.error = error
        self.done.set()

    def ack(self, tag: int, multiple: bool) -> None:
        if multiple:
            upper = min(tag, self.last)
            for confirmed in range(self.low, upper + 1):
                self.outstanding.discard(confirmed)
            self.low = max(self.low, upper + 1)
        else:
            self.outstanding.discard(tag)
        if not self.outstanding:
            self.done.set()


class PendingBatch:
    """A batch handed to the broker; `wait()` returns once all of it is confirmed."""

    def __init__(self, batch: _Batch, link: _Link, timeout: float) -> None:
        self._batch = batch
        self._link = link
        self._timeout = timeout

    def wait(self) -> None:
        """Wait for the confirms; raise `PublishFailed` on a nack, a return, a loss or timeout."""
        if not self._batch.done.wait(self._timeout):
            self._link.abandon(self._batch)
        if self._batch.error is not None:
            raise PublishFailed(self._batch.error)
        counts = Counter(message.routing_key for message in self._batch.messages)
        for event_type, count in counts.items():
            metrics.EVENTS_PUBLISHED.labels(event_type).inc(count)


class _Link:
    """One `SelectConnection` with a confirm-mode channel, run by its own I/O thread.

    Everything but `submit`, `abandon` and `close` runs in the I/O thread.
    """

    def __init__(self, params: pika.URLParameters, exchange: str, mandatory: bool) -> None:
        self._exchange = exchange
        self._mandatory = mandatory
        self.ready = threading.Event()
        self.closed = threading.Event()
        self.error: str | None = None
        self._channel: Any = None
        self._batches: list[_Batch] = []
        self._last_tag = 0
        self._connection = pika.SelectConnection(
            params,
            on_open_callback=lambda conn: conn.channel(on_open_callback=self._on_channel_open),
            on_open_error_callback=self._on_closed,
            on_close_callback=self._on_closed,
        )
        self._thread = threading.Thread(
            target=self._connection.ioloop.start, name="rakuten-publisher-io", daemon=True
        )
        self._thread.start()

    @property
    def usable(self) -> bool:
        """Whether the connection and channel are open."""
        return self.ready.is_set() and not self.closed.is_set()

    def submit(self, batch: _Batch) -> None:
        """Publish `batch` from the I/O thread; `batch.done` is set when settled."""
        self._connection.ioloop.add_callback_threadsafe(lambda: self._start(batch))

    def abandon(self, batch: _Batch) -> None:
        """Give up on `batch` (its confirms did not arrive in time) and close."""
        batch.fail("no confirm in time")
        self.close()

    def close(self) -> None:
        """Close the connection and wait for the I/O thread to end."""
        if self._thread.is_alive() and not self.closed.is_set():
            try:
                self._connection.ioloop.add_callback_threadsafe(self._close)
            except Exception as exc:  # the loop stopped in between
                log.debug("publisher loop already stopped: %r", exc)
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=CONNECT_TIMEOUT)

    def _close(self) -> None:
        if self._connection.is_open:
            self._connection.close()

    def _on_channel_open(self, channel: Any) -> None:
        self._channel = channel
        channel.add_on_close_callback(self._on_channel_closed)
        channel.add_on_return_callback(self._on_return)
        channel.exchange_declare(
            exchange=self._exchange, exchange_type="topic", durable=True,
            callback=lambda _frame: channel.confirm_delivery(
                ack_nack_callback=self._on_confirm, callback=lambda _f: self.ready.set()
            ),
        )

    def _fail_all(self, error: str) -> None:
        for batch in self._batches:
            batch.fail(error)
        self._batches.clear()

    def _on_closed(self, _connection: Any, reason: BaseException | str) -> None:
        self.error = self.error or f"connection closed: {reason!r}"
        self.closed.set()
        self.ready.set()  # wakes a caller waiting for the connection
        self._fail_all(self.error)
        self._connection.ioloop.stop()

    def _on_channel_closed(self, _channel: Any, reason: BaseException) -> None:
        self.error = f"channel closed: {reason!r}"
        self._fail_all(self.error)
        if self._connection.is_open:
            self._connection.close()

    def _on_return(self, _channel: Any, method: Any, props: Any, _body: bytes) -> None:
        error = f"unroutable: routing key {method.routing_key!r} (message {props.message_id!r})"
        owners = [b for b in self._batches
                  if any(m.message_id == props.message_id for m in b.messages)]
        for batch in owners or self._batches:
            batch.fail(error)

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        tag, multiple = method.delivery_tag, method.multiple
        for batch in self._batches:
            if batch.first > tag or (not multiple and tag > batch.last):
                continue
            if isinstance(method, Basic.Nack):
                batch.fail(f"nacked by the broker (delivery tag {tag})")
            else:
                batch.ack(tag, multiple)
        self._batches = [batch for batch in self._batches if not batch.done.is_set()]

    def _start(self, batch: _Batch) -> None:
        if self._channel is None or not self._channel.is_open:
            batch.fail(self.error or "channel closed")
            return
        batch.first = batch.low = self._last_tag + 1
        if not batch.messages:
            batch.done.set()
            return
        self._batches.append(batch)
        try:
            for message in batch.messages:
                self._channel.basic_publish(
                    self._exchange, message.routing_key, message.body,
                    properties(message.message_id), mandatory=self._mandatory,
                )
                self._last_tag += 1
                batch.outstanding.add(self._last_tag)
        except Exception as exc:
            batch.fail(f"publish failed: {exc!r}")
        batch.last = self._last_tag
        if not batch.outstanding:
            batch.done.set()


class ConfirmedPublisher:
    """Publishes batches to one exchange and returns once the broker confirmed all of them.

    Thread-safe; connects on first use and again after a connection loss. With
    `mandatory` (the default) a message no queue is bound for is an error too.
    """

    def __init__(
        self,
        amqp_url: str,
        exchange: str,
        *,
        mandatory: bool = True,
        confirm_timeout: float = CONFIRM_TIMEOUT,
    ) -> None:
        self._params = pika.URLParameters(amqp_url)
        self._params.client_properties = {"connection_name": "rakuten-publisher"}
        self._exchange = exchange
        self._mandatory = mandatory
        self._confirm_timeout = confirm_timeout
        self._lock = threading.Lock()
        self._link: _Link | None = None

    def open(self) -> None:
        """Connect now rather than on first use; raise `PublishFailed` if that fails."""
        with self._lock:
            self._connect()

    def submit(self, messages: Sequence[OutgoingMessage]) -> PendingBatch:
        """Start publishing `messages`; call `wait()` on the result for the confirms.

        Several batches may be in flight at once (the outbox relay overlaps one
        batch's confirms with the next one's database work). Raises `PublishFailed`
        when no connection can be opened.
        """
        with self._lock:
            link = self._connect()
            batch = _Batch(messages)
            link.submit(batch)
        return PendingBatch(batch, link, self._confirm_timeout)

    def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        """Publish `messages` and wait for every confirm; raise `PublishFailed` otherwise."""
        if messages:
            self.submit(messages).wait()

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            if self._link is not None:
                self._link.close()
                self._link = None

    def _connect(self) -> _Link:
        if self._link is not None and self._link.usable:
            return self._link
        if self._link is not None:
            self._link.close()
        self._link = link = _Link(self._params, self._exchange, self._mandatory)
        if not link.ready.wait(CONNECT_TIMEOUT) or link.closed.is_set():
            link.close()
            raise PublishFailed(link.error or "could not open a confirm-mode channel in time")
        return link


def publish_events(amqp_url: str, exchange: str, events: Iterable[Mapping[str, Any]]) -> int:
    """Publish CloudEvent dicts with the contract's properties, waiting for confirms.

    For tests and the demo (one blocking round trip per event); returns the count.
    """
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        declare_exchange(channel, exchange)
        channel.confirm_delivery()
        count = 0
        for event in events:
            body = json.dumps(event, separators=(",", ":")).encode()
            channel.basic_publish(exchange, str(event["type"]), body, properties(str(event["id"])))
            count += 1
        return count
    finally:
        connection.close()
