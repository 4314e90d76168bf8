"""Run the sandbox: `Sandbox` in a daemon thread for tests, `serve` in the foreground for the CLI."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType, TracebackType

from connectors.rakuten.sandbox.api import SandboxApi
from connectors.rakuten.sandbox.server import SandboxServer

logger = logging.getLogger(__name__)

POLL_INTERVAL_S = 0.05  #: seconds; how fast stop() is noticed by the serving thread


class Sandbox(SandboxApi):
    """A Rakuten stand-in: an HTTP server on a daemon thread plus the in-process control API.

    Example::

        sandbox = Sandbox()
        url = sandbox.start()  # e.g. "http://127.0.0.1:54321"
        sandbox.add_seller("shop", "token")
        sandbox.stop()
    """

    def __init__(self) -> None:
        super().__init__()
        self._server: SandboxServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL, e.g. http://127.0.0.1:54321 (no trailing slash)."""
        if self._server is None:
            raise RuntimeError("the sandbox is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Start serving on a daemon thread and return the base URL (port 0 picks a free one)."""
        if self._server is not None:
            raise RuntimeError("the sandbox is already started")
        self._server = SandboxServer((host, port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": POLL_INTERVAL_S},
            name="rakuten-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving, wake any hanging request and close the socket."""
        server, thread = self._server, self._thread
        if server is None:
            return
        server.stopping.set()
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Sandbox:
        if self._server is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM into KeyboardInterrupt so serve() unwinds like on Ctrl-C."""
    raise KeyboardInterrupt


def _announce(url: str) -> None:
    """Print where the sandbox listens (demo scripts read this line)."""
    print(f"Rakuten sandbox listening on {url}", flush=True)


def serve(host: str = "127.0.0.1", port: int = 8765, *, ready: Callable[[str], None] = _announce) -> None:
    """Serve in the foreground until SIGINT or SIGTERM, then return after closing the socket."""
    api = SandboxApi()
    server = SandboxServer((host, port), api)
    bound_host, bound_port = server.server_address[:2]
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if in_main else None
    try:
        ready(f"http://{bound_host!s}:{bound_port}")
        server.serve_forever(poll_interval=POLL_INTERVAL_S)
    except KeyboardInterrupt:
        logger.info("sandbox stopping")
    finally:
        server.stopping.set()
        server.server_close()
        if in_main:
            signal.signal(signal.SIGTERM, previous)
