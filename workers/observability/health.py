"""`/healthz`'s checks: PostgreSQL and RabbitMQ answer, the ingress consumes, work progresses."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import pika
import psycopg

from workers.observability.multiprocess import SamplesCollector
from workers.settings import Settings

log = logging.getLogger(__name__)

#: seconds without a scheduler tick after which the group is not healthy
SCHEDULER_STALE_S = 30.0


class Health:
    """Decides whether the process group is healthy: services answer, work progresses.

    With `inbox_queue`, the group runs an ingress: it is healthy only once the
    queue exists and has a consumer (before that, published events would be lost).
    """

    def __init__(
        self, settings: Settings, *, progress: Callable[[], str | None], inbox_queue: str | None = None
    ) -> None:
        self.settings = settings
        self.progress = progress
        self.inbox_queue = inbox_queue
        # pika logs every refused connection at ERROR with a traceback; the problem
        # is reported by /healthz itself
        logging.getLogger("pika").setLevel(logging.CRITICAL)

    def check(self) -> dict[str, str]:
        """Return a problem per failing check (empty when healthy)."""
        problems: dict[str, str] = {}
        try:
            with psycopg.connect(str(self.settings.database.database_url), connect_timeout=3) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error as exc:
            problems["database"] = f"unreachable ({type(exc).__name__})"
        problems.update(self._check_broker())
        try:
            stalled = self.progress()
        except Exception as exc:  # e.g. the shared samples cannot be read: say so, do not crash
            log.warning("health: progress cannot be checked (%s)", type(exc).__name__)
            stalled = f"cannot be checked ({type(exc).__name__})"
        if stalled:
            problems["progress"] = stalled
        return problems

    def _check_broker(self) -> dict[str, str]:
        params = pika.URLParameters(str(self.settings.broker.rabbitmq_url))
        params.socket_timeout = params.blocked_connection_timeout = 3
        params.connection_attempts = 1
        try:
            connection = pika.BlockingConnection(params)
        except Exception as exc:  # pika raises many unrelated classes
            return {"broker": f"unreachable ({type(exc).__name__})"}
        try:
            if self.inbox_queue is None:
                return {}
            try:
                declared = connection.channel().queue_declare(self.inbox_queue, passive=True)
            except pika.exceptions.ChannelClosedByBroker:
                return {"ingress": f"queue {self.inbox_queue!r} is not declared yet"}
            if declared.method.consumer_count < 1:
                return {"ingress": f"no consumer on queue {self.inbox_queue!r}"}
            return {}
        finally:
            if connection.is_open:
                connection.close()


def last_scheduler_tick() -> float | None:
    """Return the latest scheduler tick of the group (Unix time), from the shared samples."""
    values = [
        sample.value
        for metric in SamplesCollector().collect()
        if metric.name == "rakuten_scheduler_last_tick_timestamp_seconds"
        for sample in metric.samples
    ]
    return max(values) if values else None


def scheduler_progress(started_at: float) -> str | None:
    """Report a stalled scheduler: no tick for a while (after a start-up grace period)."""
    tick = last_scheduler_tick()
    now = time.time()
    if tick is None:
        return None if now - started_at < SCHEDULER_STALE_S else "the scheduler has not ticked"
    if now - tick > SCHEDULER_STALE_S:
        return f"the scheduler last ticked {now - tick:.0f}s ago"
    return None
