"""Figure 6: an install with N pending sales through the real `rakuten-worker run`, end to end.

The sandbox runs in a process of its own and holds N sales awaiting acceptance
for one seller (one `getnewsales` answer, about 15 MB for 10,000). Each
repetition, in alternating order:

- run: a fresh database and vhost, `python -m workers run` started and healthy
  (ingress, worker and scheduler children), a consumer on a queue bound to
  `order.imported`; the clock runs from publishing `integration.installed` to the
  N-th `order.imported` received by that consumer. Everything `run` does is in
  it: the ingress storing the install, the verification, the scheduler's claim,
  the poll, the store, the relay with confirms. Meanwhile the RSS of every child
  is sampled (`/proc/<pid>/status`) against its RSS before the install.
- baseline: what a naive script does with the same answer: fetch it with httpx,
  parse it with defusedxml, COPY one row per sale into a scratch table, commit.

The run's JSON log gives the timeline (install applied, verification, poll,
store) and, with `--profile`, one more run is sampled by py-spy (bench/profile.py).
"""

from __future__ import annotations

import json
import logging
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import defusedxml.ElementTree
import httpx
import psycopg

from bench import profile
from bench.e2e_events import OrderCounter, installed_event
from bench.env import Services
from bench.memory import Sampler, status_kib
from bench.orders import TOKEN
from bench.runproc import RunGroup, SandboxControl, run_environment, start_run, start_sandbox
from bench.stats import Figure, alternate, median, paired_ratio
from events.publisher import publish_events

log = logging.getLogger(__name__)

LOGIN = "bench-run"
TIMEOUT_S = 600.0  #: seconds one import through `run` may take
SETTLE_S = 1.0  #: seconds `run` idles before its "before" RSS is read
RAW_TABLE = "CREATE TABLE raw_sales (purchase_id text, purchased_at text, items int)"
RAW_COPY = "COPY raw_sales (purchase_id, purchased_at, items) FROM STDIN"
#: messages of the run's log that mark the steps of the import, in order
MILESTONES = (
    ("install applied", "integration installed"),
    ("verification answer downloaded", "rakuten 'getnewsales'"),
    ("verified", "integration verified"),
    ("poll getnewsales downloaded", "rakuten 'getnewsales'"),
    ("new sales stored, getcurrentsales answered", "rakuten 'getcurrentsales'"),
    ("poll stored", "order poll:"),
)


@dataclass(frozen=True)
class RunParams:
    """The size of figure 6."""

    sales: int
    reps: int
    profile: bool = False
    out_dir: Path = Path("bench/out")


@dataclass
class RunResult:
    """One import through `run`: its time, each child's RSS before and at peak, its timeline."""

    seconds: float
    rss_before_kib: dict[str, int]
    rss_peak_kib: dict[str, int]
    timeline: list[tuple[str, float]] = field(default_factory=list)


def seed(sandbox: SandboxControl, count: int) -> None:
    """A seller with `count` sales awaiting acceptance; one in three has two items."""
    sandbox.add_seller(LOGIN, TOKEN)
    sales = [
        {"items": [{"sku": f"SKU-{n % 5000:06d}", "price": "12.50"} for _ in range(1 + (n % 3 == 0))],
         "layout": "relay" if n % 10 == 0 else "delivery"}
        for n in range(count)
    ]
    for start in range(0, count, 2000):
        sandbox.add_sales(LOGIN, sales[start : start + 2000])


def raw_import(database_url: str, sandbox_url: str, count: int) -> float:
    """Fetch getnewsales with httpx, parse it with defusedxml, COPY a row per sale; the seconds."""
    params = {"action": "getnewsales", "login": LOGIN, "pwd": TOKEN, "version": "2017-08-07"}
    with psycopg.connect(database_url) as conn, httpx.Client(timeout=120.0) as http:
        conn.execute(RAW_TABLE)
        conn.commit()
        started = time.perf_counter()
        response = http.get(sandbox_url + "/sales_ws", params=params)
        response.raise_for_status()
        root = defusedxml.ElementTree.fromstring(response.content)
        ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
        copied = 0
        with conn.cursor() as cur, cur.copy(RAW_COPY) as copy:
            for sale in root.iter(f"{ns}sale"):
                copy.write_row((sale.findtext(f"{ns}purchaseid"), sale.findtext(f"{ns}purchasedate"),
                                len(sale.findall(f"{ns}items/{ns}item"))))
                copied += 1
        conn.commit()
        seconds = time.perf_counter() - started
    if copied != count:
        raise RuntimeError(f"raw import copied {copied} of {count} sales")
    return seconds


def _rss(pids: dict[str, int]) -> dict[str, int]:
    return {part: status_kib(pid, "VmRSS") or 0 for part, pid in pids.items()}


def _check_stored(database_url: str, count: int) -> None:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT (SELECT count(*) FROM orders), count(*), count(sent_at) FROM outbox "
                           "WHERE event_type = 'order.imported'").fetchone()
    if row is None or tuple(row) != (count, count, count):
        raise RuntimeError(f"after the run: (orders, order.imported rows, sent) = {row}, expected {count}")


def _import(group: RunGroup, count: int, spy_to: Path | None) -> RunResult:
    """Publish the install and wait for the N-th order.imported; sample the children meanwhile."""
    env = group.env
    children = group.children()
    time.sleep(SETTLE_S)  # the children finish warming up (imports, pools, connections)
    before = _rss(children)
    spy: AbstractContextManager[object] = (
        profile.Spy(children["worker"], spy_to) if spy_to is not None else nullcontext())
    with (OrderCounter(env["RABBITMQ_URL"], env["EVENTS_EXCHANGE"]) as counter,
          Sampler(list(children.values()), lambda: counter.count / count) as sampler, spy):
        if spy_to is not None:
            time.sleep(0.5)  # py-spy attaches
        event = installed_event("int-bench-run", "acct-bench-run", LOGIN, TOKEN)
        published_at = time.time()
        started = time.perf_counter()
        publish_events(env["RABBITMQ_URL"], env["EVENTS_EXCHANGE"], [event])
        counter.wait(count, TIMEOUT_S, check=lambda: group.process.poll() is None)
        seconds = counter.last_at - started
        sampler.finish()
    by_pid = {t.pid: max([t.peak_kib, *(rss for _, rss in t.samples)]) for t in sampler.traces}
    peak = {part: by_pid.get(pid, 0) for part, pid in children.items()}
    return RunResult(seconds, before, peak, timeline(group.log_lines(), published_at))


def timeline(lines: list[str], published_at: float) -> list[tuple[str, float]]:
    """Seconds after the install was published at which each milestone was logged."""
    records = []
    for line in lines:
        try:
            record = json.loads(line)
            records.append((datetime.fromisoformat(record["time"]).timestamp(), str(record["message"])))
        except (ValueError, KeyError, TypeError):
            continue
    found: list[tuple[str, float]] = []
    position = 0
    for label, prefix in MILESTONES:
        for index in range(position, len(records)):
            at, message = records[index]
            if at >= published_at and message.startswith(prefix):
                found.append((label, at - published_at))
                position = index + 1
                break
    return found


def measure_run(services: Services, sandbox_url: str, count: int, *, spy_to: Path | None = None,
                log_dir: Path) -> RunResult:
    """One import through a fresh `run` on a fresh database and vhost."""
    with services.database() as db_url, services.vhost() as amqp_url:
        env = run_environment(database_url=db_url, amqp_url=amqp_url, rakuten_url=sandbox_url,
                              RAKUTEN_ORDER_POLL_INTERVAL_S="3600", RAKUTEN_HTTP_TIMEOUT_S="120")
        log_path = log_dir / f"run-{time.strftime('%H%M%S')}-{count}.log"
        with start_run(env, log_path) as group:
            result = _import(group, count, spy_to)
        _check_stored(db_url, count)
    return result


def run(services: Services, params: RunParams) -> list[Figure]:
    """Measure figure 6 (time through `run` vs the naive script) and 6b (the worker's memory)."""
    n = params.sales
    params.out_dir.mkdir(parents=True, exist_ok=True)
    with start_sandbox() as sandbox:
        seed(sandbox, n)
        results: list[RunResult] = []

        def real() -> float:
            results.append(measure_run(services, sandbox.url, n, log_dir=params.out_dir))
            return results[-1].seconds

        def raw() -> float:
            with services.database() as db_url:
                return raw_import(db_url, sandbox.url, n)

        times, raw_times = alternate(params.reps, real, raw)
        spied = None
        if params.profile and profile.available():
            spy_file = params.out_dir / f"profile-run-{n}.txt"
            spied = measure_run(services, sandbox.url, n, spy_to=spy_file, log_dir=params.out_dir)
    log.info("run %s s, raw %s s", [round(t, 2) for t in times], [round(t, 2) for t in raw_times])
    return [_time_figure(params, times, raw_times, results, spied), _memory_figure(n, results)]


def _describe_timeline(timeline: list[tuple[str, float]], total: float) -> str:
    return "timeline (s after the install): " + ", ".join(
        f"{label} {at:.2f}" for label, at in [*timeline, ("last order.imported", total)])


def _time_figure(params: RunParams, times: list[float], raw_times: list[float],
                 results: list[RunResult], spied: RunResult | None) -> Figure:
    middle = sorted(results, key=lambda r: r.seconds)[len(results) // 2]
    timeline_text = _describe_timeline(middle.timeline, middle.seconds)
    notes = [f"{params.sales} sales, {params.reps} reps; {timeline_text}"]
    extra: dict[str, object] = {"run_s": times, "raw_s": raw_times,
                                "timelines": [r.timeline for r in results]}
    if spied is not None:
        spy_file = params.out_dir / f"profile-run-{params.sales}.txt"
        stacks = profile.parse_raw(spy_file.read_text(errors="replace").splitlines()) \
            if spy_file.exists() else []
        stacks = list(stacks)
        totals = profile.phases(stacks)
        busy = {phase: samples for phase, samples in totals.items() if phase != "idle"}
        all_samples = sum(busy.values()) or 1
        notes.append(f"py-spy of the worker, {all_samples / profile.SAMPLE_RATE:.1f} s of busy thread time: "
                     + ", ".join(f"{phase} {100 * samples / all_samples:.0f}%"
                                 for phase, samples in busy.items()))
        spied_text = _describe_timeline(spied.timeline, spied.seconds)
        notes.append(f"profiled run: {spied.seconds:.2f} s; {spied_text}")
        extra["profile_phases"] = totals
        extra["profile_top"] = profile.top_functions(stacks)
    return Figure(
        key="run_import_ratio", title="6. Install -> N order.imported through `rakuten-worker run`",
        value=median(times), baseline=median(raw_times), ratio=paired_ratio(times, raw_times),
        unit="s", baseline_label="httpx fetch + defusedxml parse + COPY a row per sale",
        target=1.0, higher_is_better=False, notes="\n    ".join(notes), extra=extra,
    )


def _memory_figure(count: int, results: list[RunResult]) -> Figure:
    peaks = [r.rss_peak_kib["worker"] / 1024 for r in results]
    befores = [r.rss_before_kib["worker"] / 1024 for r in results]
    others = "; ".join(
        f"{part} {r.rss_before_kib[part] / 1024:.0f} -> {r.rss_peak_kib[part] / 1024:.0f} MiB"
        for r in results[:1] for part in sorted(r.rss_peak_kib) if part != "worker")
    return Figure(
        key="run_worker_rss_ratio", title="6b. Worker RSS: peak during the import vs before",
        value=median(peaks), baseline=median(befores), ratio=paired_ratio(peaks, befores),
        unit="MiB", baseline_label="the worker child's RSS before the install",
        target=1.5, higher_is_better=False,
        notes=f"{count} sales; peak = max(VmHWM, samples every 0.2 s); other children: {others}",
        extra={"worker_peak_mib": peaks, "worker_before_mib": befores},
    )
