"""Where a process spends its time: py-spy samples grouped by what the stack is doing.

`Spy` runs `py-spy record --format raw` on a pid (idle threads left out, so a
sample is a thread running Python or waiting in C code that holds it busy) and
`phases` sorts the collapsed stacks into the steps of an order import by the
use-case frames they contain: the verification's Rakuten call, the poll's
Rakuten calls (each split into download and parse), the store of the sales,
the relay of the outbox (with the publisher's I/O thread), and the rest; a
thread caught waiting (Dramatiq's consumers, timers, sockets) is "idle".
py-spy is optional (`pip install py-spy`); without it there is no profile.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType

SAMPLE_RATE = 100  #: samples per second and thread
STOP_TIMEOUT_S = 30.0  #: seconds py-spy gets to write its file after SIGINT

#: (phase, frames that mark it), the first match wins: a verification's parse is
#: "verification parse", not "poll parse"
USE_CASES: Sequence[tuple[str, tuple[str, ...]]] = (
    ("verification", ("verify_integration",)),
    ("store", ("store_sales",)),
    ("poll", ("_new_sales", "_current_sales", "get_new_sales", "get_current_sales")),
    ("relay", ("relay_pending", "IOLoop.start")),  # the publisher's I/O thread is the relay's
)
#: innermost frames of a thread waiting (for a message, a socket, a timer, a lock) that
#: py-spy did not count as idle; such a sample is "idle" whatever the thread works for
WAITING = ("Condition.wait", "Queue.get", "PollPoller.poll", "EpollSelector.select",
           "_CtypesTimeoutManager.run", "Event.wait")
#: frames of the HTTP download below a Rakuten call (everything else under it is the parse)
DOWNLOAD = ("_fetch (", "_read_limited", "httpx", "httpcore")
#: frames of the database below the store (psycopg), the rest is mapping and events
DATABASE = ("psycopg",)


def executable() -> str | None:
    """The py-spy program: beside this Python (a virtualenv's bin/) or on PATH; None without it."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def available() -> bool:
    """Whether py-spy is installed."""
    return executable() is not None


class Spy:
    """`py-spy record` attached to `pid` from enter to exit; `stacks` are its collapsed stacks."""

    def __init__(self, pid: int, output: Path) -> None:
        self.pid = pid
        self.output = output
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Spy:
        self._process = subprocess.Popen(
            [executable() or "py-spy", "record", "--pid", str(self.pid), "--format", "raw",
             "--rate", str(SAMPLE_RATE), "--nonblocking", "--output", str(self.output)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _exc: BaseException | None, _tb: TracebackType | None
    ) -> None:
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)  # py-spy writes its file when interrupted
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stacks(self) -> list[tuple[str, int]]:
        """The recorded (stack, samples) pairs; empty when py-spy could not attach."""
        if not self.output.exists():
            return []
        return list(parse_raw(self.output.read_text(errors="replace").splitlines()))


def parse_raw(lines: Iterable[str]) -> Iterable[tuple[str, int]]:
    """(stack, count) from py-spy's raw format: `frame;frame;... COUNT` per line."""
    for line in lines:
        stack, _, count = line.rstrip().rpartition(" ")
        if stack and count.isdigit():
            yield stack, int(count)


def phase_of(stack: str) -> str:
    """The phase a collapsed stack belongs to (see `USE_CASES` and `WAITING`)."""
    if stack.rsplit(";", 1)[-1].startswith(WAITING):
        return "idle"
    for phase, marks in USE_CASES:
        if any(mark in stack for mark in marks):
            if phase in ("verification", "poll"):
                return f"{phase} {'download' if any(m in stack for m in DOWNLOAD) else 'parse'}"
            if phase == "store":
                return f"store {'database' if any(m in stack for m in DATABASE) else 'mapping'}"
            return phase
    return "other"


def phases(stacks: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Samples per phase, largest first."""
    totals: Counter[str] = Counter()
    for stack, count in stacks:
        totals[phase_of(stack)] += count
    return dict(totals.most_common())


def top_functions(stacks: Iterable[tuple[str, int]], *, limit: int = 12) -> list[tuple[str, int]]:
    """The leaf frames with the most samples (where the time is actually spent)."""
    leaves: Counter[str] = Counter()
    for stack, count in stacks:
        leaves[stack.rsplit(";", 1)[-1]] += count
    return leaves.most_common(limit)
