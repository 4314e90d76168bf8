"""`rakuten-worker run`: the parts as supervised child processes.

A child that dies is restarted with backoff (reset once it has run a while) and
logged. SIGTERM or SIGINT stops them all: SIGTERM to each, a bounded wait, then
SIGKILL for any that did not finish in time.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from workers.observability.compaction import compact
from workers.observability.multiprocess import forget_process

log = logging.getLogger(__name__)

POLL_S = 0.2  #: seconds between looks at the children
RESTART_BACKOFF_S = 1.0  #: first wait before restarting a child that died, doubled each time
MAX_RESTART_BACKOFF_S = 30.0
STABLE_AFTER_S = 30.0  #: seconds a child must run before its backoff resets
STOP_TIMEOUT_S = 40.0  #: seconds the children get to stop (orchestrator grace: allow more)


@dataclass
class Child:
    """One supervised child: its name, command line and state."""

    name: str
    argv: Sequence[str]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    backoff_s: float = RESTART_BACKOFF_S
    restart_at: float | None = None
    restarts: int = 0

    def start(self, env: dict[str, str]) -> None:
        """Start (or restart) the child process."""
        self.process = subprocess.Popen(list(self.argv), env=env)
        self.started_at = time.monotonic()
        self.restart_at = None
        log.info("started %s (pid %d)", self.name, self.process.pid)


def part(name: str, *args: str) -> Child:
    """A child running `python -m workers NAME ARGS`."""
    return Child(name, [sys.executable, "-m", "workers", name, *args])


@dataclass
class Supervisor:
    """Runs the children until stopped, restarting those that die."""

    children: list[Child]
    env: dict[str, str]
    stop_timeout_s: float = STOP_TIMEOUT_S
    stopping: threading.Event = field(default_factory=threading.Event)

    def all_alive(self) -> bool:
        """Whether every child is running."""
        return all(c.process is not None and c.process.poll() is None for c in self.children)

    def run(self, stop: threading.Event) -> int:
        """Supervise until `stop` is set, then stop the children; return 0."""
        for child in self.children:
            child.start(self.env)
        while not stop.wait(POLL_S):
            for child in self.children:
                self._watch(child)
        self.shutdown()
        return 0

    def _watch(self, child: Child) -> None:
        now = time.monotonic()
        if child.restart_at is not None:
            if now >= child.restart_at:
                child.restarts += 1
                child.start(self.env)
            return
        assert child.process is not None
        code = child.process.poll()
        if code is None:
            return
        forget_process(child.process.pid)
        compact()  # its counters go on counting in the archives; its files go
        if now - child.started_at >= STABLE_AFTER_S:
            child.backoff_s = RESTART_BACKOFF_S
        log.error("%s exited with code %d; restarting in %.1fs", child.name, code, child.backoff_s)
        child.restart_at = now + child.backoff_s
        child.backoff_s = min(child.backoff_s * 2, MAX_RESTART_BACKOFF_S)

    def shutdown(self) -> None:
        """SIGTERM every child, wait up to the timeout, then SIGKILL the rest."""
        self.stopping.set()
        running = [c for c in self.children if c.process is not None and c.process.poll() is None]
        for child in running:
            assert child.process is not None
            child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout_s
        for child in running:
            assert child.process is not None
            try:
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("%s did not stop within %.0fs: killing it", child.name, self.stop_timeout_s)
                child.process.kill()
                child.process.wait()
        log.info("all parts stopped")
