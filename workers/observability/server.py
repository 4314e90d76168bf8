"""The HTTP server of `/metrics` and `/healthz`, in a daemon thread of the group's leader.

Every request gets a status code: a scrape or a check that fails answers 500
with the reason, and whatever else goes wrong in a request is logged through
`logging`, never printed to stderr.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from workers.boot import BootError
from workers.observability.gauges import DatabaseGauges
from workers.observability.health import Health
from workers.observability.multiprocess import SamplesCollector
from workers.settings import Settings

log = logging.getLogger(__name__)


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any) -> None:
        # http.server prints the traceback to stderr: every output line goes through logging
        log.warning("metrics: a request from %r failed", client_address, exc_info=True)


def serve(settings: Settings, health: Health) -> ThreadingHTTPServer | None:
    """Serve `/metrics` and `/healthz` in a daemon thread; None when METRICS_PORT is 0.

    Raises `BootError` when the port cannot be bound (e.g. already in use).
    """
    obs = settings.observability
    if obs.metrics_port == 0:
        return None
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    registry.register(SamplesCollector())
    registry.register(DatabaseGauges(str(settings.database.database_url)))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            path = self.path.split("?")[0]
            try:
                if path == "/metrics":
                    self._answer(200, generate_latest(registry), "text/plain; version=0.0.4")
                elif path == "/healthz":
                    problems = health.check()
                    body = json.dumps({"healthy": not problems, "problems": problems}).encode()
                    self._answer(503 if problems else 200, body, "application/json")
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
