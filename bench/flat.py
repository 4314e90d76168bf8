"""Figure 7's lines: tick, idle tick, claim plans and `/metrics` at the largest size vs the smallest,
and the rows written by a poll of an unchanged order list."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bench.env import Services
from bench.merchants import Size, measure_sizes
from bench.merchants_poll import rows_per_unchanged_poll
from bench.merchants_seed import DUE
from bench.stats import Figure, median, paired_ratio
from connectors.rakuten.sandbox import Sandbox


@dataclass(frozen=True)
class FlatParams:
    """The sizes of figure 7."""

    sizes: tuple[int, ...]
    reps: int
    poll_sales: int


def _per_size(sizes: list[Size], what: Callable[[Size], str]) -> str:
    return "; ".join(f"{s.count:,}: {what(s)}" for s in sizes)


def _ms(values: list[float]) -> str:
    return f"{1000 * median(values):.1f} ms"


def _timed(key: str, title: str, small: Size, large: Size, values: list[float], baselines: list[float],
           notes: str, baseline_label: str) -> Figure:
    return Figure(
        key=key, title=title, value=median(values), baseline=median(baselines),
        ratio=paired_ratio(values, baselines), unit="s", baseline_label=baseline_label,
        target=2.0, higher_is_better=False, notes=notes,
        extra={"sizes": {s.count: v for s, v in ((small, baselines), (large, values))}},
    )


def _plans_figure(small: Size, large: Size, sizes: list[Size]) -> Figure:
    buffers = {s.count: sum(p.shared_buffers for p in s.plans) for s in sizes}
    seq = [f"{p.name}: {', '.join(p.seq_scans)}" for p in large.plans if p.seq_scans]
    lines = [f"buffers of all claims: {', '.join(f'{c:,}: {b}' for c, b in buffers.items())}",
             "sequential scans of integrations/stock_pending at the largest size: "
             + ("; ".join(seq) if seq else "none"),
             *[f"{large.count:,}: {p.describe()}" for p in large.plans]]
    return Figure(
        key="merchants_claim_buffers_ratio", title=f"7c. Claim plans: shared buffers, {large.count:,} vs "
        f"{small.count:,}", value=buffers[large.count], baseline=buffers[small.count],
        ratio=buffers[large.count] / max(buffers[small.count], 1), unit="buffers",
        baseline_label=f"the same claims at {small.count:,} integrations", target=2.0,
        higher_is_better=False, notes="\n    ".join(lines),
        extra={"plans": {s.count: [p.describe() for p in s.plans] for s in sizes}},
    )


def run(services: Services, sandbox: Sandbox, params: FlatParams) -> list[Figure]:
    """Measure figure 7 and return its lines."""
    sizes = measure_sizes(services, params.sizes, params.reps)
    small, large = sizes[0], sizes[-1]
    label = f"the same at {small.count:,} integrations"
    work = f"{DUE} verifications, order polls, re-sends and stock flushes due"
    rows = rows_per_unchanged_poll(services, sandbox, params.poll_sales)
    written = sum(sum(delta) for delta in rows.values())
    return [
        _timed("merchants_tick_ratio", f"7a. Scheduler tick, {large.count:,} vs {small.count:,} integrations",
               small, large, large.tick_s, small.tick_s,
               f"{work}; {_per_size(sizes, lambda s: _ms(s.tick_s))}", label),
        _timed("merchants_idle_tick_ratio", f"7b. Idle scheduler tick, {large.count:,} vs {small.count:,}",
               small, large, large.idle_tick_s, small.idle_tick_s,
               f"nothing due; {_per_size(sizes, lambda s: _ms(s.idle_tick_s))}", label),
        _plans_figure(small, large, sizes),
        _timed("merchants_scrape_ratio", f"7d. /metrics scrape, {large.count:,} vs {small.count:,}",
               small, large, large.scrape_s, small.scrape_s,
               _per_size(sizes, lambda s: f"{_ms(s.scrape_s)}, {s.scrape_bytes:,} bytes, {s.series:,} "
                         f"series ({s.integration_series:,} per integration)")
               + "\n    " + "\n    ".join(f"{large.count:,}: {p.describe()}" for p in large.scrape_plans),
               label),
        Figure(
            key="unchanged_poll_rows", title="7e. Rows written by a poll of an unchanged order list",
            value=written, baseline=0, ratio=float("nan"), unit="rows", baseline_label="nothing changed",
            notes=f"{params.poll_sales} known sales; (inserted, updated, deleted) per table: "
            + (", ".join(f"{t} {d}" for t, d in sorted(rows.items())) or "none"),
            headline="value", extra={"rows": rows},
        ),
    ]
