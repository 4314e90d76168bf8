"""`/healthz`'s checks: PostgreSQL and RabbitMQ answer, the ingress consumes, work progresses.

A check uses the kept probe connections (`probes`), never a new connection per
request. The scheduler's progress is its heartbeat in PostgreSQL (read in the
same query as the database check), not the metrics samples; what only the
supervisor knows (a child restarting) comes from `progress`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import pika
import psycopg

from db import heartbeats
from workers.observability.probes import BROKER_ERRORS, ProbeBroker, ProbeDatabase
from workers.settings import Settings

log = logging.getLogger(__name__)

#: seconds without a scheduler tick after which the group is not healthy (also its start-up grace)
SCHEDULER_STALE_S = 30.0


class Health:
    """Decides whether the process group is healthy: services answer, work progresses.

    With `inbox_queue`, the group runs an ingress: it is healthy only once the
    queue exists and has a consumer (before that, published events would be lost).
    With `scheduler_id`, it runs a scheduler, whose heartbeat must be recent.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        progress: Callable[[], str | None] = lambda: None,
        inbox_queue: str | None = None,
        scheduler_id: str | None = None,
        database: ProbeDatabase | None = None,
    ) -> None:
        self.progress = progress
        self.inbox_queue = inbox_queue
        self.scheduler_id = scheduler_id
        self.started = time.monotonic()
        self.database = database or ProbeDatabase(str(settings.database.database_url))
        self.broker = ProbeBroker(str(settings.broker.rabbitmq_url))
        # pika logs every refused connection at ERROR with a traceback; the problem
        # is reported by /healthz itself
        logging.getLogger("pika").setLevel(logging.CRITICAL)

    def check(self) -> dict[str, str]:
        """Return a problem per failing check (empty when healthy)."""
        problems: dict[str, str] = {}
        try:
            age = self.database.run(self._heartbeat_age)
        except psycopg.Error as exc:
            problems["database"] = f"unreachable ({type(exc).__name__})"
        else:
            stalled = self._scheduler_problem(age)
            if stalled:
                problems["progress"] = stalled
        problems.update(self._check_broker())
        try:
            restarting = self.progress()
        except Exception as exc:  # a check that cannot be made is a problem, not a crash
            log.warning("health: progress cannot be checked (%s)", type(exc).__name__)
            restarting = f"cannot be checked ({type(exc).__name__})"
        if restarting:
            problems["progress"] = restarting
        return problems

    def _heartbeat_age(self, conn: psycopg.Connection[Any]) -> float | None:
        if self.scheduler_id is None:
            conn.execute("SELECT 1")
            return None
        return heartbeats.age_s(conn, self.scheduler_id)

    def _scheduler_problem(self, age: float | None) -> str | None:
        if self.scheduler_id is None:
            return None
        if age is None:
            waited = time.monotonic() - self.started
            return None if waited < SCHEDULER_STALE_S else "the scheduler has not ticked"
        if age > SCHEDULER_STALE_S:
            return f"the scheduler last ticked {age:.0f}s ago"
        return None

    def _check_broker(self) -> dict[str, str]:
        try:
            return self.broker.run(self._inbox_problem)
        except BROKER_ERRORS as exc:
            return {"broker": f"unreachable ({type(exc).__name__})"}

    def _inbox_problem(self, channel: Any) -> dict[str, str]:
        if self.inbox_queue is None:
            return {}
        try:
            declared = channel.queue_declare(self.inbox_queue, passive=True)
        except pika.exceptions.ChannelClosedByBroker:
            return {"ingress": f"queue {self.inbox_queue!r} is not declared yet"}
        if declared.method.consumer_count < 1:
            return {"ingress": f"no consumer on queue {self.inbox_queue!r}"}
        return {}

    def close(self) -> None:
        """Close the probe connections."""
        self.database.close()
        self.broker.close()
