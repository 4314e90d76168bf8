"""Dramatiq-free dispatchers: work runs in a thread pool of the benchmark's own process.

The use cases and the scheduler send work through a `Dispatcher`; in production
that is Dramatiq over RabbitMQ. Here the same use-case functions the actors call
(`workers.tasks.TASKS`) run in threads, so a benchmark measures the connector's
work, not Dramatiq's queueing.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from events.relay import OutboxRelay
from workers.context import Context
from workers.tasks import TASKS

log = logging.getLogger(__name__)


class NullDispatcher:
    """Drops the work it is sent (for benchmarks that send none worth running)."""

    def send(self, task: str, *args: Any) -> None:
        """Drop."""


class PoolDispatcher:
    """Runs the actors' functions in a thread pool; `bind` it to the context before use.

    Requests to relay the outbox are coalesced: while a relay runs, further
    requests make it run once more rather than queue up (each would find the
    rows taken). Errors are logged and kept in `errors`.
    """

    def __init__(self, threads: int = 4) -> None:
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="bench-task")
        self._ctx: Context | None = None
        self._relay: OutboxRelay | None = None
        self._lock = threading.Lock()
        self._futures: set[Future[Any]] = set()
        self._relay_state = "idle"  # idle | running | again
        self.errors: list[BaseException] = []
        self.counts: dict[str, int] = {}

    def bind(self, ctx: Context, relay: OutboxRelay | None) -> None:
        """Give the dispatcher what the tasks need."""
        self._ctx, self._relay = ctx, relay

    def send(self, task: str, *args: Any) -> None:
        """Run the task in the pool (the relay coalesced, see the class docstring)."""
        if task == "relay_outbox":
            self._relay_outbox()
            return
        assert self._ctx is not None, "PoolDispatcher.bind() first"
        with self._lock:
            self.counts[task] = self.counts.get(task, 0) + 1
        self._track(self._executor.submit(TASKS[task].run, self._ctx, *args))

    def _relay_outbox(self) -> None:
        if self._relay is None:
            return
        with self._lock:
            if self._relay_state != "idle":
                self._relay_state = "again"
                return
            self._relay_state = "running"
        self._track(self._executor.submit(self._relay_loop, self._relay))

    def wait_idle(self, timeout: float) -> None:
        """Wait until no task is queued or running; raise TimeoutError after `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                pending = list(self._futures)
            remaining = deadline - time.monotonic()
            if not pending:
                return
            if remaining <= 0:
                raise TimeoutError(f"{len(pending)} task(s) still running after {timeout}s")
            wait(pending, timeout=remaining)

    def close(self) -> None:
        """Wait for running tasks and stop the threads."""
        self._executor.shutdown(wait=True, cancel_futures=True)

    def _relay_loop(self, relay: OutboxRelay) -> None:
        again = True
        try:
            while again:
                relay.relay_pending()
                with self._lock:
                    again = self._relay_state == "again"
                    self._relay_state = "running" if again else "idle"
        finally:
            with self._lock:
                self._relay_state = "idle"

    def _track(self, future: Future[Any]) -> None:
        with self._lock:
            self._futures.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: Future[Any]) -> None:
        with self._lock:
            self._futures.discard(future)
        error = future.exception()
        if error is not None:
            log.error("benchmark task failed: %r", error)
            self.errors.append(error)
