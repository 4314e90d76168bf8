"""The demo's view of the worker: the `run` subprocess, the events it publishes, its endpoints.

`WorkerProcess` starts `python -m workers run` in its own session with the demo's
settings and its output in a log file, and stops it with SIGTERM like an operator
would. `EventWatcher` binds a private queue to every outbound type on the events
exchange, so the demo sees exactly what other services would receive.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pika

from events.outbound import OUTBOUND_TYPES
from events.topology import declare_topology

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 20.0  #: seconds `run` gets to stop after SIGTERM before it is killed
#: variables of the parent's environment that would confuse the child's metrics set-up
_NOT_INHERITED = ("PROMETHEUS_MULTIPROC_DIR", "dramatiq_prom_db", "RAKUTEN_METRICS_CHILD")


class WorkerProcess:
    """`rakuten-worker run` as a child process, its output going to `log_path`."""

    def __init__(self, settings: Mapping[str, str], log_path: str) -> None:
        self.settings = dict(settings)
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> int:
        """Start `run` and return its pid."""
        env = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
        env.update(self.settings)
        with open(self.log_path, "ab") as log:
            # its own session: Ctrl-C reaches the demo only, which then stops `run` in order
            self.process = subprocess.Popen(
                [sys.executable, "-m", "workers", "run"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=env, start_new_session=True,
            )
        return self.process.pid

    def exit_code(self) -> int | None:
        """The exit code once `run` has ended, else None."""
        return None if self.process is None else self.process.poll()

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> tuple[int | None, bool]:
        """SIGTERM `run` and wait; kill its group after `timeout`. Return (exit code, graceful)."""
        process = self.process
        if process is None:
            return None, True
        if process.poll() is not None:
            return process.returncode, True
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=timeout), True
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the group of the session started above
            return process.wait(), False


@dataclass
class EventWatcher:
    """Sees the events the worker publishes, through a private queue bound to all outbound types."""

    amqp_url: str
    exchange: str
    inbox_queue: str
    received: list[dict[str, Any]] = field(default_factory=list)
    _connection: Any = None
    _channel: Any = None
    _queue: str = ""

    def open(self) -> None:
        """Connect, declare the contract's topology and bind the private queue."""
        self._connection = pika.BlockingConnection(pika.URLParameters(self.amqp_url))
        self._channel = self._connection.channel()
        # the same declaration the ingress makes: events published before it is up wait in the inbox
        declare_topology(self._channel, self.exchange, self.inbox_queue)
        declared = self._channel.queue_declare(queue="", exclusive=True, auto_delete=True)
        self._queue = declared.method.queue
        for event_type in OUTBOUND_TYPES:
            self._channel.queue_bind(queue=self._queue, exchange=self.exchange, routing_key=event_type)

    def close(self) -> None:
        """Close the connection (the private queue goes with it); a broken one is just dropped."""
        connection, self._connection = self._connection, None
        try:
            if connection is not None and connection.is_open:
                connection.close()
        except Exception as exc:  # pika raises many unrelated classes on a broken connection
            log.debug("closing the event watcher's connection: %r", exc)

    def inbox_consumers(self) -> int:
        """How many consumers the inbox has (1 once the ingress is consuming)."""
        declared = self._channel.queue_declare(queue=self.inbox_queue, durable=True, passive=True)
        return int(declared.method.consumer_count)

    def poll(self) -> list[dict[str, Any]]:
        """Fetch what arrived since the last call, keep it in `received`, and return it."""
        new: list[dict[str, Any]] = []
        while True:
            method, _props, body = self._channel.basic_get(self._queue, auto_ack=True)
            if method is None:
                break
            new.append(json.loads(body))
        self.received.extend(new)
        return new

    def of_type(self, event_type: str) -> list[dict[str, Any]]:
        """Every event of `event_type` received so far (after a fresh `poll`)."""
        self.poll()
        return [event for event in self.received if event.get("type") == event_type]


def http_get(url: str, timeout: float = 5.0) -> tuple[int, str]:
    """GET `url` and return (status, text); an HTTP error status is returned, not raised."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return int(answer.status), answer.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode("utf-8", "replace")
