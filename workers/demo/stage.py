"""Setting the demo's stage: isolated services, the Rakuten sandbox and the worker, and taking it down.

Each piece registers its own removal on an `ExitStack` as soon as it exists, so an
error or a Ctrl-C at any point leaves nothing behind (bar the worker's log file).
"""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, TypeVar

from cryptography.fernet import Fernet

from connectors.rakuten.sandbox import Sandbox
from events.publisher import publish_events
from workers.demo.console import Console, DemoFailed
from workers.demo.data import CATALOGUE, SALES, Shop, seed_sandbox
from workers.demo.isolation import Isolation, free_port
from workers.demo.worker import EventWatcher, WorkerProcess
from workers.redaction import redact
from workers.settings import Settings

T = TypeVar("T")

WORKER_READY_TIMEOUT_S = 30.0  #: seconds for `run` to migrate and have its ingress consuming
#: the worker's intervals, short so the demo takes seconds (production: minutes)
DEMO_INTERVALS = {
    "RAKUTEN_ORDER_POLL_INTERVAL_S": "2",
    "RAKUTEN_STOCK_PUSH_INTERVAL_S": "5",
    "RAKUTEN_REPORT_POLL_INTERVAL_S": "0.5",
}


@dataclass
class Stage:
    """Everything the story needs: the console, the sandbox and its shop, the worker, the events."""

    console: Console
    isolation: Isolation
    sandbox: Sandbox
    shop: Shop
    worker: WorkerProcess
    watcher: EventWatcher
    metrics_port: int
    integration_id: str

    def check_worker(self) -> None:
        """Raise `DemoFailed` when the worker is no longer running."""
        code = self.worker.exit_code()
        if code is not None:
            raise DemoFailed(f"the worker exited unexpectedly (exit code {code})")

    def wait(self, what: str, check: Callable[[], T | None], *, timeout: float) -> T:
        """Wait for `check` to return something, as long as the worker runs; see `Console.wait_for`."""

        def guarded() -> T | None:
            self.check_worker()
            return check()

        return self.console.wait_for(what, guarded, timeout=timeout)

    def publish(self, events: Sequence[dict[str, Any]]) -> None:
        """Publish inbound events on the demo's exchange, as another service would."""
        publish_events(self.isolation.rabbitmq_url, self.isolation.exchange, events)


def set_up(
    settings: Settings, console: Console, stack: ExitStack, *, log_path: str, keep_database: bool
) -> Stage:
    """Isolate, start the sandbox, start the worker; register every removal on `stack`."""
    isolation = _isolate(settings, console, stack, keep_database=keep_database)
    sandbox, shop = _start_sandbox(console, stack)
    metrics_port = free_port()
    worker, watcher = _start_worker(console, stack, isolation, sandbox, log_path, metrics_port)
    return Stage(console, isolation, sandbox, shop, worker, watcher, metrics_port,
                 integration_id=f"demo-{uuid.uuid4().hex[:8]}")


def _isolate(settings: Settings, console: Console, stack: ExitStack, *, keep_database: bool) -> Isolation:
    isolation = Isolation(str(settings.database.database_url), str(settings.broker.rabbitmq_url))
    stack.callback(_remove, console, isolation, keep_database)
    isolation.create_database()
    isolation.create_vhost()
    if isolation.vhost is not None:
        console.done(f"Isolated: database {isolation.database} and RabbitMQ vhost {isolation.vhost}")
    else:
        console.done(f"Isolated: database {isolation.database}")
        console.detail(
            f"No vhost of its own: {isolation.fallback_reason}.",
            f"It uses RABBITMQ_URL's vhost with exchange {isolation.exchange!r}",
            f"and inbox {isolation.queue!r}.",
            "Its Dramatiq queues (rakuten.*) are shared with any other worker on that vhost.",
        )
    return isolation


def _remove(console: Console, isolation: Isolation, keep_database: bool) -> None:
    try:
        removed = isolation.drop(keep_database=keep_database)
    except Exception as exc:  # cleanup reports and goes on; the demo's outcome is decided already
        console.failed(f"Could not remove everything the demo made: {type(exc).__name__}: {exc}")
        return
    if removed:
        console.done(f"Removed {', '.join(removed[:-1])}{' and ' if len(removed) > 1 else ''}{removed[-1]}")
    if keep_database and isolation.database is not None:
        url = redact(isolation.database_url)
        console.done(f"Kept database {isolation.database} (--keep-database): {url}")


def _start_sandbox(console: Console, stack: ExitStack) -> tuple[Sandbox, Shop]:
    sandbox = Sandbox()
    sandbox.start()
    stack.callback(sandbox.stop)
    shop = seed_sandbox(sandbox)
    console.done(f"Rakuten sandbox on {sandbox.url}: shop {shop.login!r} (seller id {shop.seller_id}),")
    console.detail(f"{len(CATALOGUE)} listings, {len(SALES)} new sales awaiting acceptance")
    return sandbox, shop


def _worker_settings(isolation: Isolation, sandbox: Sandbox, metrics_port: int) -> dict[str, str]:
    return {
        "DATABASE_URL": isolation.database_url,
        "RABBITMQ_URL": isolation.rabbitmq_url,
        "EVENTS_EXCHANGE": isolation.exchange,
        "EVENTS_QUEUE": isolation.queue,
        "TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "RAKUTEN_BASE_URL": sandbox.url,
        **DEMO_INTERVALS,
        "METRICS_HOST": "127.0.0.1",
        "METRICS_PORT": str(metrics_port),
        "LOG_FORMAT": "text",
        "LOG_LEVEL": "INFO",
    }


def _start_worker(
    console: Console,
    stack: ExitStack,
    isolation: Isolation,
    sandbox: Sandbox,
    log_path: str,
    metrics_port: int,
) -> tuple[WorkerProcess, EventWatcher]:
    watcher = EventWatcher(isolation.rabbitmq_url, isolation.exchange, isolation.queue)
    stack.callback(watcher.close)
    watcher.open()
    worker = WorkerProcess(_worker_settings(isolation, sandbox, metrics_port), log_path)
    stack.callback(_stop_worker, console, worker)
    pid = worker.start()

    def consuming() -> bool | None:
        code = worker.exit_code()
        if code is not None:
            raise DemoFailed(f"`rakuten-worker run` exited at start (exit code {code})")
        return True if watcher.inbox_consumers() > 0 else None

    console.wait_for("the worker to start", consuming, timeout=WORKER_READY_TIMEOUT_S)
    console.done(f"Worker started: `rakuten-worker run` (pid {pid}) migrated the database and runs the")
    console.detail(f"ingress, a Dramatiq worker and the scheduler; the ingress consumes {isolation.queue!r}",
                   f"Its log: tail -f {log_path}")
    return worker, watcher


def _stop_worker(console: Console, worker: WorkerProcess) -> None:
    if worker.process is None:
        return
    if worker.exit_code() is not None:
        console.failed(f"The worker had already exited (exit code {worker.exit_code()})")
        return
    started = time.monotonic()
    code, graceful = worker.stop()
    took = time.monotonic() - started
    if graceful and code == 0:
        console.done(f"Worker stopped on SIGTERM in {took:.1f}s (exit code 0)")
    elif code == -signal.SIGTERM:  # it had not set up its signal handlers yet: nothing was running
        console.done("Worker stopped by SIGTERM while it was starting")
    elif graceful:
        console.failed(f"Worker stopped on SIGTERM in {took:.1f}s with exit code {code}")
    else:
        console.failed(f"Worker did not stop within {took:.0f}s of SIGTERM: killed")
