"""The threaded HTTP server: routes /_sandbox/ to the control API, the rest to the web services."""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BufferedIOBase
from urllib.parse import parse_qs, urlsplit

from connectors.rakuten.sandbox import control, ws
from connectors.rakuten.sandbox.api import SandboxApi
from connectors.rakuten.sandbox.reply import Reply, text_reply
from connectors.rakuten.sandbox.ws_actions import WsRequest

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024 * 1024  #: bytes; Rakuten's own file limit is 30 MB


class SandboxServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer holding the sandbox API and a stop event that ends hang faults."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], api: SandboxApi) -> None:
        super().__init__(address, SandboxHandler)
        self.api = api
        self.stopping = threading.Event()


def _read_chunked(stream: BufferedIOBase) -> bytes:
    """Read a Transfer-Encoding: chunked request body."""
    chunks: list[bytes] = []
    total = 0
    while True:
        size = int(stream.readline().split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while stream.readline() not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(chunks)
        total += size
        if total > MAX_BODY_BYTES:
            raise ValueError("request body too large")
        chunks.append(stream.read(size))
        stream.readline()


class SandboxHandler(BaseHTTPRequestHandler):
    """Serve one HTTP/1.1 connection; never logs query strings (they carry the token)."""

    server: SandboxServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, keep-alive calls wait ~40 ms.
    disable_nagle_algorithm = True
    server_version = "RakutenSandbox/1.0"

    def do_GET(self) -> None:
        """Handle a GET request."""
        self._serve()

    def do_POST(self) -> None:
        """Handle a POST request."""
        self._serve()

    def _read_body(self) -> bytes:
        """Return the request body (Content-Length or chunked)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return _read_chunked(self.rfile)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise ValueError("request body too large")
        return self.rfile.read(length) if length > 0 else b""

    def _reply(self) -> Reply:
        """Compute the answer to the current request."""
        url = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(url.query, True).items()}
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True
            return text_reply("Request Entity Too Large", 413)
        if url.path.startswith(control.PREFIX):
            return control.handle(self.server.api, self.command, url.path, query, body)
        content_type = self.headers.get("Content-Type", "")
        request = WsRequest(self.command, url.path, query, content_type, body)
        return ws.handle(self.server.api.state, request, self.server.stopping.wait)

    def _serve(self) -> None:
        """Answer the request, swallowing the errors of a client that went away."""
        try:
            reply = self._reply()
        except Exception:
            logger.exception("sandbox failed on %s %s", self.command, urlsplit(self.path).path)
            reply = text_reply("Internal Server Error", 500)
        try:
            self._send(reply)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _send(self, reply: Reply) -> None:
        """Write the status line, headers and body (streamed when the reply is a stream)."""
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        length = reply.length if reply.stream is not None else len(reply.body)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        if reply.stream is None:
            self.wfile.write(reply.body)
            return
        for chunk in reply.stream:
            self.wfile.write(chunk)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Log at debug level, with the path only: the query string holds the token."""
        logger.debug("%s %s", self.command, urlsplit(self.path).path)
