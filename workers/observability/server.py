"""The HTTP server of `/metrics` and `/healthz`, in a daemon thread of the group's leader.

Every request gets a status code: a scrape or a check that fails answers 500
with the reason, and whatever else goes wrong in a request is logged through
`logging`, never printed to stderr. A probe is cheap and bounded whatever comes
in: each answer is computed at most once a second and shared by the requests of
that second, the checks use kept connections (`probes`), a request that sends
nothing is dropped after `REQUEST_TIMEOUT_S`, and at most `MAX_HANDLERS` requests
are served at once (more get 503 at once, without a thread).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from workers.boot import BootError
from workers.observability.gauges import DatabaseGauges
from workers.observability.health import Health
from workers.observability.multiprocess import SamplesCollector
from workers.settings import Settings

log = logging.getLogger(__name__)

CACHE_S = 1.0  #: seconds an answer is served again before it is computed anew
REQUEST_TIMEOUT_S = 5.0  #: seconds a client may take to send its request
MAX_HANDLERS = 8  #: requests served at once
BUSY = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n" \
       b"Connection: close\r\n\r\nbusy\n"

Answer = tuple[int, bytes, str]  #: status, body, content type


class Cached:
    """Computes an answer at most once per `CACHE_S`; concurrent callers wait for one computation."""

    def __init__(self, compute: Callable[[], Answer], *, ttl_s: float = CACHE_S) -> None:
        self.compute = compute
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._answer: Answer | None = None
        self._at = 0.0

    def get(self) -> Answer:
        """The last answer if fresh, else a new one (computed once for everyone waiting)."""
        with self._lock:
            if self._answer is None or time.monotonic() - self._at >= self.ttl_s:
                self._answer = self.compute()
                self._at = time.monotonic()
            return self._answer


class _Server(ThreadingHTTPServer):
    # socketserver listens with a backlog of 5: a burst of probes beyond it waits on
    # TCP retransmissions (seconds) before it is even accepted; busy answers are quick
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._slots = threading.BoundedSemaphore(MAX_HANDLERS)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            # every handler is busy: say so at once rather than queue a thread per request
            try:
                request.settimeout(1.0)
                request.sendall(BUSY)
            except OSError:
                pass  # the client is gone already
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any) -> None:
        # http.server prints the traceback to stderr: every output line goes through logging
        log.warning("metrics: a request from %r failed", client_address, exc_info=True)


def serve(settings: Settings, health: Health, *, cache_s: float = CACHE_S) -> ThreadingHTTPServer | None:
    """Serve `/metrics` and `/healthz` in a daemon thread; None when METRICS_PORT is 0.

    Answers are computed at most once per `cache_s`. Raises `BootError` when the
    port cannot be bound (e.g. already in use).
    """
    obs = settings.observability
    if obs.metrics_port == 0:
        return None
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    registry.register(SamplesCollector())
    registry.register(DatabaseGauges(
        health.database, poll_interval_s=settings.rakuten.rakuten_order_poll_interval_s))

    def metrics() -> Answer:
        return 200, generate_latest(registry), "text/plain; version=0.0.4"

    def healthz() -> Answer:
        problems = health.check()
        body = json.dumps({"healthy": not problems, "problems": problems}).encode()
        return 503 if problems else 200, body, "application/json"

    answers = {
        "/metrics": Cached(metrics, ttl_s=cache_s),
        "/healthz": Cached(healthz, ttl_s=cache_s),
    }

    class Handler(BaseHTTPRequestHandler):
        timeout = REQUEST_TIMEOUT_S  # a client that sends nothing does not hold a handler

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            path = self.path.split("?")[0]
            try:
                if path in answers:
                    self._answer(*answers[path].get())
                else:
                    self._answer(404, b"not found\n", "text/plain")
            except Exception as exc:
                log.warning("metrics: %s failed", path, exc_info=True)
                self._answer(500, *_failure(path, exc))

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    try:
        server = _Server((obs.metrics_host, obs.metrics_port), Handler)
    except OSError as exc:
        raise BootError(
            f"cannot serve metrics on {obs.metrics_host}:{obs.metrics_port} ({exc.strerror}); "
            "set METRICS_PORT to a free port, or to 0 to turn metrics off"
        ) from None
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    log.info("metrics and health on http://%s:%d/", obs.metrics_host, server.server_address[1])
    return server


def _failure(path: str, exc: Exception) -> tuple[bytes, str]:
    """The body and content type of a 500 answer: the reason, in the form of the path's answers."""
    reason = f"{path} failed ({type(exc).__name__})"
    if path == "/healthz":
        return json.dumps({"healthy": False, "problems": {"server": reason}}).encode(), "application/json"
    return f"{reason}\n".encode(), "text/plain"
