"""The events of the end-to-end figure: the install published, the `order.imported` received."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import pika

from events.topology import declare_exchange

CONNECT_TIMEOUT_S = 30.0  #: seconds for the consumer to be bound and ready


def installed_event(integration_id: str, account_id: str, seller_id: str, token: str) -> dict[str, Any]:
    """An `integration.installed` CloudEvent as the install service publishes it (stock sync off)."""
    return {
        "specversion": "1.0", "id": str(uuid.uuid4()), "source": "install-service",
        "type": "integration.installed", "time": datetime.now(UTC).isoformat(),
        "datacontenttype": "application/json",
        "data": {"integration_id": integration_id, "account_id": account_id, "app": "rakuten",
                 "application_name": "Rakuten", "seller_id": seller_id, "token": token,
                 "stock_sync_enabled": False},
    }


class OrderCounter:
    """A consumer of `order.imported` on the exchange, in a thread of its own.

    It counts distinct event ids (a redelivered event is counted once) and keeps
    the `perf_counter()` time at which the latest new one arrived. Its queue is
    bound before `__enter__` returns, so nothing published afterwards is missed.
    """

    def __init__(self, amqp_url: str, exchange: str, routing_key: str = "order.imported") -> None:
        self._url, self._exchange, self._key = amqp_url, exchange, routing_key
        self._ids: set[str] = set()
        self.last_at = 0.0
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._consume, name="bench-order-counter", daemon=True)

    @property
    def count(self) -> int:
        """Distinct events received so far."""
        return len(self._ids)

    def __enter__(self) -> OrderCounter:
        self._thread.start()
        if not self._ready.wait(CONNECT_TIMEOUT_S) or self._error is not None:
            self._stop.set()
            raise RuntimeError(f"the order.imported consumer did not start: {self._error!r}")
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _exc: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(CONNECT_TIMEOUT_S)

    def wait(self, count: int, timeout: float, *, check: Callable[[], bool]) -> None:
        """Wait until `count` distinct events arrived; raise when `check()` fails or time is up."""
        deadline = time.monotonic() + timeout
        while self.count < count:
            if self._error is not None:
                raise RuntimeError(f"the order.imported consumer failed: {self._error!r}")
            if not check():
                raise RuntimeError(f"the process under test stopped after {self.count} events")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.count} of {count} order.imported in {timeout}s")
            time.sleep(0.02)

    def _on_message(self, _ch: Any, _method: Any, properties: Any, _body: bytes) -> None:
        event_id = properties.message_id
        if event_id not in self._ids:
            self._ids.add(event_id)
            self.last_at = time.perf_counter()

    def _consume(self) -> None:
        try:
            connection = pika.BlockingConnection(pika.URLParameters(self._url))
        except Exception as exc:  # pika raises many unrelated classes
            self._error = exc
            self._ready.set()
            return
        try:
            channel = connection.channel()
            declare_exchange(channel, self._exchange)
            queue = channel.queue_declare("", exclusive=True).method.queue
            channel.queue_bind(queue, self._exchange, routing_key=self._key)
            channel.basic_qos(prefetch_count=1000)
            channel.basic_consume(queue, self._on_message, auto_ack=True)
            self._ready.set()
            while not self._stop.is_set():
                connection.process_data_events(time_limit=0.1)
        except Exception as exc:  # reported by wait()
            self._error = exc
            self._ready.set()
        finally:
            if connection.is_open:
                connection.close()
