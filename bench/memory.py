"""Resident memory of processes, sampled over a run, from /proc/<pid>/status."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

SAMPLE_EVERY_S = 0.2  #: seconds between two samples
WARM_UP = 0.2  #: share of the work after which a process counts as warmed up


def status_kib(pid: int, key: str) -> int | None:
    """A `kB` value of /proc/<pid>/status (`VmRSS`, `VmHWM`), or None once the process is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


@dataclass
class Trace:
    """One process's samples: (progress 0..1, RSS KiB) and its peak (VmHWM)."""

    pid: int
    samples: list[tuple[float, int]] = field(default_factory=list)
    peak_kib: int = 0

    def growth_after_warm_up(self) -> float:
        """Largest relative change of RSS after warm-up, against RSS at the end of warm-up.

        Positive means growth; 0.05 means the process grew 5 % after warming up.
        """
        after = [rss for progress, rss in self.samples if progress >= WARM_UP]
        if len(after) < 2:
            return float("nan")
        base = after[0]
        return max((rss - base for rss in after), key=abs) / base


class Sampler:
    """Samples the RSS of `pids` in a thread; `progress()` tells how far the run is (0..1)."""

    def __init__(self, pids: Sequence[int], progress: Callable[[], float]) -> None:
        self.traces = [Trace(pid) for pid in pids]
        self._progress = progress
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-rss", daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.finish()

    def finish(self) -> None:
        """Take the last samples and each process's peak (call before the processes exit)."""
        if not self._stop.is_set():
            self._stop.set()
            self._thread.join()
            self._sample()
            for trace in self.traces:
                trace.peak_kib = status_kib(trace.pid, "VmHWM") or max(
                    (rss for _, rss in trace.samples), default=0)

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY_S):
            self._sample()

    def _sample(self) -> None:
        progress = min(1.0, self._progress())
        for trace in self.traces:
            rss = status_kib(trace.pid, "VmRSS")
            if rss is not None:
                trace.samples.append((progress, rss))
