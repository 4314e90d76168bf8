"""Keeping the tables bounded: the scheduler prunes old rows and erases deleted integrations.

Inbox ids, sent outbox rows, finished stock files and order changes are deleted
once older than their retention; `ERASE_DELETED_AFTER_S` after an
`integration.deleted`, the integration's orders, items, changes, stock files and
outbound events (every copy of its buyers' names, addresses, e-mails and phones)
are erased; the metrics files of the group's processes that are gone are folded
into its archives (`workers.observability.compaction`). Everything goes in small
batches, each its own short transaction, within a time budget per scheduler tick,
so pruning never holds long locks nor delays the due work; a pass that runs out of
budget goes on at the next tick.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from db import erasure, retention
from workers.logs import log_context
from workers.metrics import METRICS
from workers.observability.compaction import compact
from workers.settings import RetentionSettings

log = logging.getLogger(__name__)

PRUNE_BATCH = 1000  #: rows deleted per statement
ERASE_BATCH = 500  #: rows of a deleted integration erased per statement
BUDGET_S = 0.2  #: seconds of pruning per scheduler tick at most
MAX_EVERY_S = 60.0  #: seconds between two pruning passes at most
MIN_EVERY_S = 0.25  #: and at least (one scheduler tick)
ERASE_AT_ONCE = 10  #: deleted integrations looked at per pass
HEARTBEAT_KEEP_S = 86400.0  #: seconds a stopped scheduler's heartbeat row is kept


@dataclass
class PruneResult:
    """What one pass deleted, and whether it stopped for lack of time."""

    deleted: Counter[str] = field(default_factory=Counter)
    erased: list[str] = field(default_factory=list)
    more: bool = False


class Pruner:
    """Runs pruning passes at a rhythm that follows the shortest retention."""

    def __init__(
        self, settings: RetentionSettings, *, batch: int = PRUNE_BATCH, budget_s: float = BUDGET_S
    ) -> None:
        self.settings = settings
        self.batch = batch
        self.budget_s = budget_s
        # a twentieth of the shortest retention: rows outlive it by at most about 5%
        self.every_s = min(MAX_EVERY_S, max(MIN_EVERY_S, settings.shortest_s / 20))
        self._next_at = 0.0

    def maybe_run(self, pool: ConnectionPool) -> PruneResult | None:
        """Run a pass if one is due; a failure is logged and tried again a pass later."""
        now = time.monotonic()
        if now < self._next_at:
            return None
        try:
            with pool.connection() as conn:
                result = self.run(conn)
            compact()  # the metrics files of the group's processes that are gone
        except (psycopg.Error, OSError) as exc:
            self._next_at = now + self.every_s
            log.warning("pruning failed (%s); trying again in %.0fs", _describe(exc), self.every_s)
            return None
        self._next_at = now if result.more else now + self.every_s
        return result

    def run(self, conn: psycopg.Connection[Any]) -> PruneResult:
        """One pass: prune each table, then erase the deleted integrations that are due."""
        deadline = time.monotonic() + self.budget_s
        result = PruneResult()
        try:
            finished = self._prune(conn, result, deadline) and self._erase_due(conn, result, deadline)
            result.more = not finished
        finally:
            for what, count in result.deleted.items():
                if count:
                    METRICS.rows_pruned.labels(what).inc(count)
        return result

    def _prune(self, conn: psycopg.Connection[Any], result: PruneResult, deadline: float) -> bool:
        s = self.settings
        keep = {
            "inbox": s.inbox_retention_s,
            "outbox": s.outbox_retention_s,
            "stock_import_lines": s.stock_import_retention_s,
            "stock_imports": s.stock_import_retention_s,
            "order_changes": s.order_change_retention_s,
            "scheduler_heartbeats": HEARTBEAT_KEEP_S,
        }
        for what, keep_s in keep.items():
            delete = partial(retention.prune_batch, conn, what, keep_s=keep_s)
            count, done = _drain(conn, delete, batch=self.batch, deadline=deadline)
            result.deleted[what] += count
            if not done:
                return False
        return True

    def _erase_due(self, conn: psycopg.Connection[Any], result: PruneResult, deadline: float) -> bool:
        with conn.transaction():
            due = erasure.due(conn, after_s=self.settings.erase_deleted_after_s, limit=ERASE_AT_ONCE)
        finished = all(self._erase(conn, integration_id, result, deadline) for integration_id in due)
        return finished and len(due) < ERASE_AT_ONCE  # a full batch: more may be due now

    def _erase(
        self, conn: psycopg.Connection[Any], integration_id: str, result: PruneResult, deadline: float
    ) -> bool:
        """Erase one integration's data; False when the budget ran out first."""
        erased: Counter[str] = Counter()
        for step in erasure.STEPS:
            delete = partial(erasure.erase_batch, conn, step, integration_id)
            erased[step], done = _drain(conn, delete, batch=ERASE_BATCH, deadline=deadline)
            if not done:
                return False
        with conn.transaction():
            finished = erasure.finish(conn, integration_id)
        if finished:
            result.erased.append(integration_id)
            METRICS.integrations_erased.inc()
            with log_context(integration_id=integration_id):
                log.info("deleted integration erased: %d order(s), %d outbound event(s)",
                         erased["orders"], erased["outbox"])
        return True


def _drain(
    conn: psycopg.Connection[Any], delete: Callable[..., int], *, batch: int, deadline: float
) -> tuple[int, bool]:
    """Delete batches, each its own transaction, until one comes back short.

    Returns the rows deleted and whether it finished before the deadline.
    """
    total = 0
    while True:
        with conn.transaction():
            deleted = delete(limit=batch)
        total += deleted
        if deleted < batch:
            return total, True
        if time.monotonic() > deadline:
            return total, False


def _describe(exc: BaseException) -> str:
    sqlstate = getattr(exc, "sqlstate", None)
    return f"{type(exc).__name__} {sqlstate}" if sqlstate else type(exc).__name__
