"""The scheduler's claims against the real PostgreSQL: what they take, and that they read only due rows."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from db import schedule

Conn = psycopg.Connection[Any]
INTERVAL_S = 360.0  #: the stock push interval the claims are given
COPY_INTEGRATIONS = """
COPY integrations (integration_id, account_id, seller_id, token_encrypted, stock_sync_enabled, status,
    verified_at, orders_due_at, last_stock_file_at, stock_lease_until, stock_not_before, reconcile_due_at)
FROM STDIN
"""
#: tables a claim must never read whole: the scheduler claims four times a second
WATCHED = ("integrations", "stock_pending")


@pytest.fixture
def conn(fresh_database: str) -> Iterator[Conn]:
    with psycopg.connect(fresh_database) as connection:
        yield connection


def _integration(n: int, *, status: str = "verified", sync: bool = True, last_file_s_ago: float = 3600.0,
                 leased: bool = False, deferred: bool = False) -> tuple[Any, ...]:
    now = datetime.now(UTC)
    return (
        f"int-{n:06d}", f"acct-{n:06d}", f"shop-{n}", b"token", sync, status,
        now - timedelta(days=1) if status == "verified" else None,
        now + timedelta(hours=1), now - timedelta(seconds=last_file_s_ago),
        now + timedelta(minutes=1) if leased else None, now + timedelta(minutes=5) if deferred else None,
        now + timedelta(hours=1 + n % 20),
    )


def _seed(conn: Conn, rows: list[tuple[Any, ...]], pending: Mapping[str, int]) -> None:
    with conn.cursor() as cur:
        with cur.copy(COPY_INTEGRATIONS) as copy:
            for row in rows:
                copy.write_row(row)
        with cur.copy("COPY stock_pending (integration_id, sku) FROM STDIN") as copy:
            for integration_id, skus in pending.items():
                for sku in range(skus):
                    copy.write_row((integration_id, f"SKU-{sku:05d}"))
    conn.commit()


def _claim_flushes(conn: Conn, *, limit: int = 200) -> list[str]:
    with conn.transaction():
        claimed = schedule.claim_stock_flushes(conn, interval_s=INTERVAL_S, lease_s=60.0, limit=limit)
    return [integration_id for integration_id, _token in claimed]


def test_stock_flush_claim_takes_only_due_integrations_with_pending_skus(conn: Conn) -> None:
    rows = [
        _integration(1),  # due, with pending SKUs: the only one to take
        _integration(2),  # no pending SKU
        _integration(3, last_file_s_ago=10),  # its last file is too recent
        _integration(4, sync=False),  # stock sync turned off after the SKUs were marked
        _integration(5, status="invalid_credentials"),
        _integration(6, deferred=True),  # quota cool-down
        _integration(7, leased=True),  # another flush holds it
    ]
    _seed(conn, rows, {f"int-{n:06d}": 3 for n in (1, 3, 4, 5, 6, 7)})

    assert _claim_flushes(conn) == ["int-000001"]
    assert _claim_flushes(conn) == []  # leased by the first claim


def test_stock_flush_claims_share_many_due_integrations_out_within_their_limit(conn: Conn) -> None:
    rows = [_integration(n) for n in range(25)]
    _seed(conn, rows, {f"int-{n:06d}": 1 + n % 4 for n in range(25)})

    claims = [_claim_flushes(conn, limit=10) for _ in range(4)]

    assert [len(c) for c in claims] == [10, 10, 5, 0]
    assert sorted(i for c in claims for i in c) == [f"int-{n:06d}" for n in range(25)]


def _scans(node: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    if "Relation Name" in node:
        yield node["Node Type"], node["Relation Name"]
    for child in node.get("Plans", []):
        yield from _scans(child)


def _plan_scans(conn: Conn, query: str, params: Mapping[str, object]) -> list[tuple[str, str]]:
    with conn.transaction(force_rollback=True):  # ANALYZE runs the claim's UPDATE
        row = conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + query,
                           {"doublings": schedule.MAX_LEASE_DOUBLINGS, **params}).fetchone()
    assert row is not None
    return list(_scans(row[0][0]["Plan"]))


def test_claims_read_no_whole_table_of_integrations_or_pending_skus_among_many_merchants(
    conn: Conn,
) -> None:
    # 20,000 merchants, half with stock sync; 100 of them with pending SKUs, one with a
    # whole catalogue marked for a full re-send; 20 flushes and 20 re-sends due
    rows = [_integration(n, sync=n % 2 == 0, last_file_s_ago=3600 if n % 1000 == 0 else 10)
            for n in range(20_000)]
    pending = {f"int-{n:06d}": 5 for n in range(0, 20_000, 200)}
    pending["int-000200"] = 20_000
    _seed(conn, rows, pending)
    conn.execute("UPDATE integrations SET reconcile_due_at = now() - interval '1 s' "
                 "WHERE integration_id IN (SELECT integration_id FROM integrations "
                 "WHERE stock_sync_enabled ORDER BY integration_id LIMIT 20)")
    conn.commit()
    conn.execute("ANALYZE")
    claims = {
        "stock flushes": (schedule.CLAIM_STOCK_FLUSHES, {"interval_s": INTERVAL_S, "lease_s": 60.0,
                                                         "limit": 200}),
        "reconciliations": (schedule.CLAIM_RECONCILIATIONS, {"every_s": 86400.0, "limit": 200}),
        "order polls": (schedule.CLAIM_ORDER_POLLS, {"lease_s": 300.0, "limit": 200}),
        "verifications": (schedule.CLAIM_VERIFICATIONS, {"lease_s": 60.0, "limit": 200}),
    }

    full_scans = {
        name: [scan for scan in _plan_scans(conn, query, params)
               if scan[0] == "Seq Scan" and scan[1] in WATCHED]
        for name, (query, params) in claims.items()
    }

    assert full_scans == {name: [] for name in claims}
