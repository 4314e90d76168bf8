"""The printed table and the JSON file of a benchmark run."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.stats import Figure


def _number(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"


def _target(figure: Figure) -> str:
    if figure.target is None:
        return "-"
    return f"{'>=' if figure.higher_is_better else '<='} {figure.target:g}"


def _verdict(figure: Figure) -> str:
    return {None: "", True: "met", False: "MISSED"}[figure.met]


def table(figures: Sequence[Figure]) -> str:
    """A plain-text table: one line per figure, its baseline and notes under it."""
    header = f"{'figure':<66} {'value':>12} {'baseline':>12} {'ratio':>8}  {'target':<8} {'':<6}"
    lines = [header, "-" * len(header)]
    for f in figures:
        lines.append(
            f"{f.title:<66} {_number(f.value):>12} {_number(f.baseline):>12} {_number(f.ratio):>8}"
            f"  {_target(f):<8} {_verdict(f):<6}"
        )
        lines.append(f"    unit {f.unit}; baseline: {f.baseline_label}")
        if f.notes:
            lines.append(f"    {f.notes}")
    return "\n".join(lines)


def as_json(
    figures: Sequence[Figure], *, mode: str, machine: dict[str, str], seconds: float
) -> dict[str, Any]:
    """The run as JSON: each figure's headline number under its key, then the details."""
    document: dict[str, Any] = {f.key: f.figure for f in figures}
    document["mode"] = mode
    document["duration_s"] = round(seconds, 1)
    document["machine"] = machine
    document["figures"] = [
        {
            "key": f.key, "title": f.title, "value": f.value, "baseline": f.baseline, "ratio": f.ratio,
            "unit": f.unit, "baseline_label": f.baseline_label, "target": f.target,
            "higher_is_better": f.higher_is_better, "met": f.met, "notes": f.notes, "extra": f.extra,
        }
        for f in figures
    ]
    return document


def _finite(value: Any) -> Any:
    """`value` with every NaN or infinity replaced by None (JSON has neither)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def write_json(path: Path, document: dict[str, Any]) -> None:
    """Write the JSON document."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(_finite(document), indent=2, default=str, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")
