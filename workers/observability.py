"""Metrics and health over HTTP: `/metrics` (Prometheus) and `/healthz`.

One exporter per process group: the process that leads the group (`run`, or a
part started alone) creates a multiprocess directory for prometheus_client and
dramatiq's middleware, its children write their samples there, and the leader
serves them all on `METRICS_PORT`, with gauges read from the database at scrape
time. `/healthz` answers 200 only when PostgreSQL and RabbitMQ answer and work
is progressing.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pika
import psycopg

from workers.boot import BootError
from workers.settings import Settings

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CHILD_ENV = "RAKUTEN_METRICS_CHILD"  #: set in children: the leader serves their metrics
#: seconds without a scheduler tick after which the group is not healthy
SCHEDULER_STALE_S = 30.0


def prepare_multiprocess() -> str | None:
    """Create the group's metrics directory unless a parent did; return it if this process leads.

    Must run before prometheus_client is imported.
    """
    if os.environ.get(CHILD_ENV):
        return None
    folder = tempfile.mkdtemp(prefix="rakuten-metrics-")
    os.environ[MULTIPROC_ENV] = folder
    os.environ["dramatiq_prom_db"] = folder  # dramatiq's Prometheus middleware
    return folder


def child_environment() -> dict[str, str]:
    """The environment of a child process: it writes metrics for the leader to serve."""
    return {**os.environ, CHILD_ENV: "1"}


def forget_process(pid: int) -> None:
    """Drop the live gauges of a child that exited.

    prometheus_client keeps a dead process's `live*` gauge samples (e.g.
    dramatiq's messages in progress) until told: a worker killed mid-message
    would count that message in progress forever.
    """
    folder = os.environ.get(MULTIPROC_ENV)
    if folder:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid, folder)  # type: ignore[no-untyped-call]


def cleanup_multiprocess(folder: str | None) -> None:
    """Remove the group's metrics directory."""
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


class DatabaseGauges:
    """A Prometheus collector of gauges read from the database at scrape time."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def collect(self) -> Iterator[Any]:
        """Yield integrations by status, the outbox backlog and each integration's poll lag."""
        from prometheus_client.core import GaugeMetricFamily

        from db import integrations, outbox, schedule

        try:
            with psycopg.connect(self.database_url, connect_timeout=3) as conn:
                statuses = integrations.count_by_status(conn)
                backlog, oldest = outbox.backlog(conn)
                lag = schedule.order_poll_lag(conn)
        except psycopg.Error as exc:
            log.warning("metrics: database unavailable (%s)", type(exc).__name__)
            return
        by_status = GaugeMetricFamily("rakuten_integrations", "Integrations by status.", labels=["status"])
        for status, count in sorted(statuses.items()):
            by_status.add_metric([status], count)
        yield by_status
        yield GaugeMetricFamily("rakuten_outbox_backlog", "Events not yet published.", value=backlog)
        yield GaugeMetricFamily(
            "rakuten_outbox_oldest_age_seconds", "Age of the oldest unpublished event.", value=oldest or 0.0
        )
        poll_lag = GaugeMetricFamily(
            "rakuten_order_poll_lag_seconds",
            "Seconds since each verified integration's last successful order poll.",
            labels=["integration_id"],
        )
        for integration_id, seconds in sorted(lag.items()):
            poll_lag.add_metric([integration_id], seconds)
        yield poll_lag


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
        stalled = self.progress()
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
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    values = [
        sample.value
        for metric in registry.collect()
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


def serve(settings: Settings, health: Health) -> ThreadingHTTPServer | None:
    """Serve `/metrics` and `/healthz` in a daemon thread; None when METRICS_PORT is 0.

    Raises `BootError` when the port cannot be bound (e.g. already in use).
    """
    obs = settings.observability
    if obs.metrics_port == 0:
        return None
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    registry.register(DatabaseGauges(str(settings.database.database_url)))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            if self.path.split("?")[0] == "/metrics":
                self._answer(200, generate_latest(registry), "text/plain; version=0.0.4")
            elif self.path.split("?")[0] == "/healthz":
                problems = health.check()
                body = json.dumps({"healthy": not problems, "problems": problems}).encode()
                self._answer(503 if problems else 200, body, "application/json")
            else:
                self._answer(404, b"not found\n", "text/plain")

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    try:
        server = ThreadingHTTPServer((obs.metrics_host, obs.metrics_port), Handler)
    except OSError as exc:
        raise BootError(
            f"cannot serve metrics on {obs.metrics_host}:{obs.metrics_port} ({exc.strerror}); "
            "set METRICS_PORT to a free port, or to 0 to turn metrics off"
        ) from None
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    log.info("metrics and health on http://%s:%d/", obs.metrics_host, server.server_address[1])
    return server
