"""What `rakuten-worker demo` prints: timed step lines, and a progress display while it waits.

Every line starts with the time elapsed since the demo began. A wait longer than a
second shows a spinner on a terminal, and a plain line every few seconds otherwise
(CI logs, pipes), so a slow step never looks like a hang. Every wait has a deadline.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from typing import TextIO, TypeVar

T = TypeVar("T")

POLL_S = 0.1  #: seconds between two looks at a condition
SPINNER_AFTER_S = 1.0  #: seconds of waiting before any progress is shown
PLAIN_EVERY_S = 4.0  #: seconds between two progress lines when stdout is not a terminal
INDENT = " " * 9  #: lines under a step line up with its text


class DemoFailed(Exception):
    """Raised when a step of the demo does not happen in time or goes wrong; the message says what."""


class Console:
    """Prints the demo's story to `stream`, each line stamped with the time since the start."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.started = time.monotonic()
        self.failures = 0  #: lines printed with `failed`: the demo then exits non-zero
        self.tty = self.stream.isatty()
        fancy = _can_encode(self.stream, "✓✗→…⠋é«»")
        symbols = ("✓", "✗", "→", "…") if fancy else ("ok", "x", "->", "...")
        self.ok, self.fail, self.arrow, self.dots = symbols
        self.frames = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏" if fancy else "|/-\\"

    def elapsed(self) -> float:
        """Seconds since the demo started."""
        return time.monotonic() - self.started

    def stamp(self) -> str:
        """The elapsed time as printed at the start of each line."""
        return f"[{self.elapsed():5.1f}s]"

    def _print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def title(self, text: str, *lines: str) -> None:
        """Print the demo's title and its introduction."""
        self._print(f"\n{text}\n{'=' * len(text)}")
        for line in lines:
            self._print(line)

    def heading(self, text: str) -> None:
        """Print the heading of a part of the story."""
        self._print(f"\n{text}")

    def done(self, text: str) -> None:
        """Print a step that succeeded."""
        self._print(f"{self.stamp()} {self.ok} {text}")

    def action(self, text: str) -> None:
        """Print something the demo did (played another service's part)."""
        self._print(f"{self.stamp()} {self.arrow} {text}")

    def failed(self, text: str) -> None:
        """Print a step that went wrong (and remember it: the demo then fails)."""
        self.failures += 1
        self._print(f"{self.stamp()} {self.fail} {text}")

    def detail(self, *lines: str) -> None:
        """Print lines that belong to the step above, indented under its text."""
        for line in lines:
            self._print(f"{INDENT}{line}")

    def plain(self, text: str = "") -> None:
        """Print a line as it is."""
        self._print(text)

    def wait_for(self, what: str, check: Callable[[], T | None], *, timeout: float) -> T:
        """Call `check` until it returns something other than None, and return that.

        Shows progress after a second; raises `DemoFailed` naming `what` at the deadline.
        """
        started = time.monotonic()
        progress = _Progress(self, what)
        try:
            while (result := check()) is None:
                waited = time.monotonic() - started
                if waited >= timeout:
                    raise DemoFailed(f"Timed out after {timeout:g}s waiting for {what}")
                if waited >= SPINNER_AFTER_S:
                    progress.show()
                time.sleep(POLL_S)
            return result
        finally:
            progress.clear()


class _Progress:
    """A spinner on one rewritten line (terminal), or a plain line every few seconds."""

    def __init__(self, console: Console, what: str) -> None:
        self.console = console
        self.what = what
        self.frame = 0
        self.shown_at: float | None = None

    def show(self) -> None:
        console, now = self.console, time.monotonic()
        if console.tty:
            spin = console.frames[self.frame % len(console.frames)]
            line = f"{console.stamp()} {spin} waiting for {self.what}{console.dots}"
            # a line wider than the terminal wraps, and \r would not go back far enough
            width = shutil.get_terminal_size().columns - 1
            console.stream.write(f"\r{line[:width]}\033[K")
            console.stream.flush()
            self.frame += 1
            self.shown_at = now
        elif self.shown_at is None or now - self.shown_at >= PLAIN_EVERY_S:
            console.plain(f"{console.stamp()} {console.dots} waiting for {self.what}")
            self.shown_at = now

    def clear(self) -> None:
        if self.console.tty and self.shown_at is not None:
            self.console.stream.write("\r\033[K")
            self.console.stream.flush()


def _can_encode(stream: TextIO, sample: str) -> bool:
    """Whether `stream` can print `sample` (a Latin-1 or ASCII console cannot print ✓)."""
    try:
        sample.encode(getattr(stream, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def tail(path: str, lines: int = 25) -> list[str]:
    """Return the last `lines` lines of the text file at `path` (empty when unreadable)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read().splitlines()[-lines:]
    except OSError:
        return []
