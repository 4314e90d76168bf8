"""The scheduler: claims due work in PostgreSQL and sends it to the actors.

Long waits (next order poll, next stock flush, report polls, retries) are due
times in the database, never Dramatiq delays. Each claim leases the row for
`WORK_LEASE_S` and raises its fencing token, which the message carries: any number
of schedulers may run, work is not claimed again while its lease is live, and a
lost message is sent again when its lease ends (the old one, if it turns up, is stale).
Between ticks it prunes what is past its retention (`workers.retention`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg

from db import heartbeats, schedule, shipment_claims, stock
from workers.context import Context
from workers.handlers import is_transient
from workers.metrics import METRICS
from workers.retention import Pruner
from workers.shipping import sweep

log = logging.getLogger(__name__)

TICK_S = 0.25  #: seconds between two looks at the due work
BATCH = 200  #: rows claimed per kind of work and tick
OUTBOX_SWEEP_S = 2.0  #: seconds an event may wait in the outbox before a sweep relays it
HEARTBEAT_EVERY_S = 2.0  #: seconds between two heartbeats written to PostgreSQL

#: how unsent shipment claims are made due again (the other kinds: `schedule.release`)
SHIPMENT_RELEASES: dict[str, Callable[[psycopg.Connection[Any], list[Any]], None]] = {
    "ship": shipment_claims.release_calls,
    "ship_file": shipment_claims.release_files,
}


@dataclass
class TickResult:
    """What one tick claimed and sent."""

    verifications: list[tuple[str, int]] = field(default_factory=list)  #: (integration, token)
    order_polls: list[tuple[str, int]] = field(default_factory=list)
    reconciliations: list[str] = field(default_factory=list)
    stock_flushes: list[tuple[str, int]] = field(default_factory=list)
    reports: list[tuple[int, int]] = field(default_factory=list)  #: (import, token)
    accepts: list[tuple[str, str, int]] = field(default_factory=list)  #: (integration, item, token)
    shipments: sweep.SweepResult = field(default_factory=sweep.SweepResult)
    ship_calls: list[tuple[int, str, int]] = field(default_factory=list)  #: (shipment, item, token)
    ship_files: list[tuple[str, int]] = field(default_factory=list)  #: (integration, token)
    cancellations: list[tuple[str, str, str, int]] = field(default_factory=list)  #: (..., item, token)
    todo_reads: list[tuple[str, int]] = field(default_factory=list)  #: (integration, token)
    outbox_swept: bool = False


def tick(ctx: Context) -> TickResult:
    """Claim everything due now and dispatch it; return what was dispatched.

    What was claimed is dispatched even when a later claim fails (the database
    connection dropped mid-tick): a claim is committed with its lease, so work
    claimed and not sent would wait for the lease to end (minutes) to be sent.
    """
    result = TickResult()
    try:
        _claim(ctx, result)
    finally:
        _dispatch(ctx, result)
    return result


def _claim(ctx: Context, result: TickResult) -> None:
    s = ctx.settings.rakuten
    lease_s = ctx.settings.reliability.work_lease_s
    with ctx.pool.connection() as conn:
        with conn.transaction():
            result.verifications = schedule.claim_verifications(conn, lease_s=lease_s, limit=BATCH)
        with conn.transaction():
            result.order_polls = schedule.claim_order_polls(conn, lease_s=lease_s, limit=BATCH)
        with conn.transaction():
            result.reconciliations = schedule.claim_reconciliations(
                conn, every_s=s.rakuten_reconcile_interval_s, limit=BATCH
            )
            for integration_id in result.reconciliations:
                stock.mark_all_pending(conn, integration_id)
        with conn.transaction():
            result.stock_flushes = schedule.claim_stock_flushes(
                conn, interval_s=s.rakuten_stock_push_interval_s, lease_s=lease_s, limit=BATCH
            )
        with conn.transaction():
            result.reports = schedule.claim_reports(conn, lease_s=lease_s, limit=BATCH)
        with conn.transaction():
            result.accepts = schedule.claim_accepts(conn, lease_s=lease_s, limit=BATCH)
        # items accepted since their shipment arrived are claimed in the same tick
        result.shipments = sweep.sweep(conn, limit=BATCH)
        with conn.transaction():
            result.ship_calls = shipment_claims.claim_calls(conn, lease_s=lease_s, limit=BATCH)
        with conn.transaction():
            result.ship_files = shipment_claims.claim_files(conn, lease_s=lease_s, limit=BATCH)
        with conn.transaction():
            result.cancellations = schedule.claim_cancellations(conn, lease_s=lease_s, limit=BATCH)
        with conn.transaction():
            result.todo_reads = schedule.claim_todo_reads(conn, lease_s=lease_s, limit=BATCH)


def _dispatch(ctx: Context, result: TickResult) -> None:
    """Send what was claimed; when sending fails, release what was not sent, then raise."""
    # (claim kind of `schedule.release`, task, what was claimed: (key..., token) tuples)
    work: list[tuple[str, str, list[Any]]] = [
        ("verify", "verify", list(result.verifications)),
        ("orders", "import_orders", list(result.order_polls)),
        ("stock", "push_stock", list(result.stock_flushes)),
        ("report", "poll_import_report", list(result.reports)),
        ("accept", "accept_item", list(result.accepts)),
        ("ship", "ship_item", list(result.ship_calls)),
        ("ship_file", "ship_file", list(result.ship_files)),
        ("cancel", "cancel_item", list(result.cancellations)),
        ("todo", "read_todo_list", list(result.todo_reads)),
    ]
    for position, (_, task, claimed) in enumerate(work):
        for index, item in enumerate(claimed):
            try:
                ctx.dispatch.send(task, *item)
            except BaseException:
                unsent = [(kind, items) for kind, _, items in work[position:]]
                unsent[0] = (unsent[0][0], claimed[index:])
                _release(ctx, unsent)
                raise
    if result.shipments.events:  # outcome events the sweep wrote: published now, not at the next sweep
        ctx.dispatch.send("relay_outbox")


def _release(ctx: Context, unsent: list[tuple[str, list[Any]]]) -> None:
    """Make claimed work that was not sent due again now (not when its lease ends)."""
    try:
        with ctx.pool.connection() as conn:
            for kind, claimed in unsent:
                release = SHIPMENT_RELEASES.get(kind)
                if release is not None:
                    release(conn, claimed)
                else:
                    schedule.release(conn, kind, claimed)
    except Exception as exc:  # the database is away too: the leases will bring the work back
        log.warning("could not release unsent work (%s); it is due again when its lease ends",
                    type(exc).__name__)


def sweep_outbox(ctx: Context) -> bool:
    """Send the relay if events wait in the outbox longer than a normal relay takes."""
    with ctx.pool.connection() as conn:
        waiting = schedule.outbox_waiting(conn, older_than_s=OUTBOX_SWEEP_S)
    if waiting:
        ctx.dispatch.send("relay_outbox")
    return waiting


def run_scheduler(
    ctx: Context, stop: threading.Event, *, tick_s: float = TICK_S, heartbeat_id: str | None = None
) -> None:
    """Tick until `stop` is set; a database or broker outage is waited out, not fatal.

    With `heartbeat_id`, completed ticks are recorded in PostgreSQL under that id
    (every `HEARTBEAT_EVERY_S`), for `/healthz`.
    """
    log.info("scheduler started (tick %.2fs)", tick_s)
    backoff = tick_s
    last_sweep = last_beat = 0.0
    pruner = Pruner(ctx.settings.retention)
    while not stop.is_set():
        try:
            tick(ctx)
            if time.monotonic() - last_sweep >= OUTBOX_SWEEP_S:
                sweep_outbox(ctx)
                last_sweep = time.monotonic()
            pruner.maybe_run(ctx.pool)
            if heartbeat_id and time.monotonic() - last_beat >= HEARTBEAT_EVERY_S:
                with ctx.pool.connection() as conn:
                    heartbeats.beat(conn, heartbeat_id)
                last_beat = time.monotonic()
            METRICS.scheduler_tick.set(time.time())
            backoff = tick_s
        except Exception as exc:
            if not is_transient(exc) and not _broker_error(exc):
                log.exception("scheduler tick failed")
            else:
                log.warning("scheduler tick failed (%s); retrying in %.1fs", type(exc).__name__, backoff)
            stop.wait(backoff)
            backoff = min(backoff * 2, 10.0)
            continue
        stop.wait(tick_s)
    log.info("scheduler stopped")


def _broker_error(exc: BaseException) -> bool:
    module = type(exc).__module__
    return module.startswith(("pika", "dramatiq"))
