"""The plans of the scheduler's claims: `EXPLAIN (ANALYZE, BUFFERS)` of each, rolled back.

A claim is an UPDATE, so ANALYZE runs it: each one is explained inside a
transaction that is rolled back, leaving the due work as it was. A plan is
summarised by what matters for a cost that stays flat in the number of
merchants: the scans of each table (a sequential scan of `integrations` or
`stock_pending` is flagged), the shared buffers touched (deterministic, unlike
times on a shared machine) and the execution time.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg

from db import integrations, outbox, schedule

#: tables whose sequential scan makes a tick grow with the number of merchants
WATCHED = ("integrations", "stock_pending")
#: the scheduler's claims with the parameters `workers.scheduler` gives them
CLAIMS: Mapping[str, tuple[str, Mapping[str, object]]] = {
    "verifications": (schedule.CLAIM_VERIFICATIONS, {"lease_s": 60.0, "limit": 200}),
    "order_polls": (schedule.CLAIM_ORDER_POLLS, {"lease_s": 300.0, "limit": 200}),
    "reconciliations": (schedule.CLAIM_RECONCILIATIONS, {"every_s": 86400.0, "limit": 200}),
    "stock_flushes": (schedule.CLAIM_STOCK_FLUSHES, {"interval_s": 360.0, "lease_s": 60.0, "limit": 200}),
    "reports": (schedule.CLAIM_REPORTS, {"lease_s": 120.0, "limit": 200}),
    "accepts": (schedule.CLAIM_ACCEPTS, {"lease_s": 120.0, "limit": 200}),
    "outbox_waiting": (schedule.OUTBOX_WAITING, {"older_than_s": 2.0}),
}


#: the queries `/metrics` runs at every scrape (workers.observability.DatabaseGauges)
SCRAPE_QUERIES: Mapping[str, tuple[str, Mapping[str, object]]] = {
    "count_by_status": (integrations.COUNT_BY_STATUS, {}),
    "outbox_backlog": (outbox.BACKLOG, {}),
    "poll_lag": (schedule.POLL_LAG_SUMMARY, {"late_after_s": 900.0}),
}


@dataclass(frozen=True)
class PlanSummary:
    """One claim's plan: its scans, buffers, time and rows."""

    name: str
    scans: list[str]  #: "Index Scan integrations (integrations_orders_due_idx)", ...
    shared_buffers: int  #: shared blocks hit + read
    execution_ms: float
    rows: int

    @property
    def seq_scans(self) -> list[str]:
        """The sequential scans of a watched table."""
        return [s for s in self.scans if s.startswith("Seq Scan") and s.split()[2] in WATCHED]

    def describe(self) -> str:
        """One line: buffers, time, rows, scans (sequential scans of watched tables in capitals)."""
        scans = ", ".join(s.upper() if s in self.seq_scans else s for s in self.scans) or "no table"
        return (f"{self.name}: {self.shared_buffers} buffers, {self.execution_ms:.2f} ms, "
                f"{self.rows} row(s); {scans}")


def _nodes(node: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


def summarise(name: str, explained: Mapping[str, Any]) -> PlanSummary:
    """Summarise one `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)` document."""
    root = explained["Plan"]
    scans = []
    for node in _nodes(root):
        relation = node.get("Relation Name")
        if relation is not None:
            index = node.get("Index Name")
            scans.append(f"{node['Node Type']} {relation}" + (f" ({index})" if index else ""))
    buffers = int(root.get("Shared Hit Blocks", 0)) + int(root.get("Shared Read Blocks", 0))
    return PlanSummary(name, scans, buffers, float(explained["Execution Time"]),
                       int(root.get("Actual Rows", 0)))


def explain(conn: psycopg.Connection[Any], name: str, query: str, params: Mapping[str, object]
            ) -> PlanSummary:
    """EXPLAIN (ANALYZE, BUFFERS) `query` in a transaction that is rolled back."""
    with conn.transaction(force_rollback=True):
        row = conn.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + query,
                           {"doublings": schedule.MAX_LEASE_DOUBLINGS, **params}).fetchone()
    assert row is not None
    return summarise(name, row[0][0])


def explain_all(conn: psycopg.Connection[Any], queries: Mapping[str, tuple[str, Mapping[str, object]]]
                ) -> list[PlanSummary]:
    """The plan of each query (`CLAIMS`: the scheduler's tick; `SCRAPE_QUERIES`: a scrape)."""
    return [explain(conn, name, query, params) for name, (query, params) in queries.items()]
