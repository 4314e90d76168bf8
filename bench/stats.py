"""Figures, their baselines and ratios; medians over alternated repetitions."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class Figure:
    """One line of the report: a measure, its baseline, their ratio and the target.

    `value` and `baseline` are medians; `ratio` is the median of the ratios of
    repetitions run back to back (or `value / baseline` for a single run).
    `higher_is_better` says which way the target goes; `key` names the ratio in
    the JSON output.
    """

    key: str
    title: str
    value: float
    baseline: float
    ratio: float
    unit: str
    baseline_label: str
    target: float | None = None
    higher_is_better: bool = True
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    #: what the JSON output gives under `key`: the ratio, or the value itself
    headline: Literal["ratio", "value"] = "ratio"

    @property
    def figure(self) -> float:
        """The number under `key` in the JSON output."""
        return self.ratio if self.headline == "ratio" else self.value

    @property
    def met(self) -> bool | None:
        """Whether the ratio meets the target (None without a target)."""
        if self.target is None:
            return None
        return self.ratio >= self.target if self.higher_is_better else self.ratio <= self.target


@dataclass
class Stopwatch:
    """Elapsed seconds of a block (monotonic clock)."""

    started: float = 0.0
    seconds: float = 0.0


@contextmanager
def stopwatch() -> Iterator[Stopwatch]:
    """Time the block; read `.seconds` after it."""
    watch = Stopwatch(started=time.perf_counter())
    try:
        yield watch
    finally:
        watch.seconds = time.perf_counter() - watch.started


def median(values: Sequence[float]) -> float:
    """The median (NaN for no values)."""
    return statistics.median(values) if values else float("nan")


def alternate(
    reps: int,
    first: Callable[[], float],
    second: Callable[[], float],
    *,
    before_each: Callable[[int], None] | None = None,
) -> tuple[list[float], list[float]]:
    """Run `first` and `second` `reps` times each, alternating which goes first.

    Alternation spreads slow drifts of a noisy machine (another job starting,
    autovacuum, page cache) over both sides. `before_each(rep)` prepares a
    repetition (untimed). Returns both lists of results.
    """
    a: list[float] = []
    b: list[float] = []
    for rep in range(reps):
        if before_each is not None:
            before_each(rep)
        if rep % 2 == 0:
            a.append(first())
            b.append(second())
        else:
            b.append(second())
            a.append(first())
    return a, b


def paired_ratio(values: Sequence[float], baselines: Sequence[float]) -> float:
    """The median of the per-repetition ratios (each pair ran back to back)."""
    return median([v / b for v, b in zip(values, baselines, strict=True) if b])
