"""Stock import files sent to Rakuten, their lines and what the import report said."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import class_row

# Recording the same import twice (a retry after a commit whose answer was lost) keeps one.
INSERT_IMPORT = """
INSERT INTO stock_imports (integration_id, rakuten_import_id, kind, sku_count, report_due_at)
VALUES (%(integration_id)s, %(import_id)s, %(kind)s, %(count)s,
        now() + make_interval(secs => %(report_in_s)s))
ON CONFLICT (integration_id, rakuten_import_id) DO NOTHING
RETURNING id
"""
INSERT_LINES = """
INSERT INTO stock_import_lines (import_pk, sku, quantity, refusals)
SELECT %(pk)s, * FROM unnest(%(skus)s::text[], %(quantities)s::int[], %(refusals)s::int[])
"""


def record_import(
    conn: psycopg.Connection[Any],
    integration_id: str,
    *,
    rakuten_import_id: str,
    kind: str,
    lines: Sequence[tuple[str, int]] | Sequence[tuple[str, int, int]],
    report_in_s: float,
) -> int | None:
    """Record a file Rakuten accepted and what it contained; its report is due in `report_in_s`.

    A line is (sku, quantity) or (sku, quantity, refusals): how many files refused
    as a whole carried that SKU's change before this one. Returns the import's
    key, or None when the import was already recorded.
    """
    row = conn.execute(
        INSERT_IMPORT,
        {
            "integration_id": integration_id,
            "import_id": rakuten_import_id,
            "kind": kind,
            "count": len(lines),
            "report_in_s": report_in_s,
        },
    ).fetchone()
    if row is None:
        return None
    pk = int(row[0])
    conn.execute(
        INSERT_LINES,
        {
            "pk": pk,
            "skus": [line[0] for line in lines],
            "quantities": [line[1] for line in lines],
            "refusals": [line[2] if len(line) > 2 else 0 for line in lines],
        },
    )
    return pk


@dataclass(frozen=True)
class StockImport:
    """A stock file as recorded."""

    id: int
    integration_id: str
    account_id: str
    rakuten_import_id: str
    status: str
    report_attempts: int


GET_IMPORT = """
SELECT m.id, m.integration_id, i.account_id, m.rakuten_import_id, m.status, m.report_attempts
FROM stock_imports m JOIN integrations i USING (integration_id)
WHERE m.id = %(pk)s
"""


def get_import(conn: psycopg.Connection[Any], pk: int) -> StockImport | None:
    """Return the import with its integration's account."""
    with conn.cursor(row_factory=class_row(StockImport)) as cur:
        cur.execute(GET_IMPORT, {"pk": pk})
        return cur.fetchone()


DEFER_REPORT = """
UPDATE stock_imports SET report_attempts = report_attempts + 1,
    report_due_at = now() + make_interval(secs => %(in_s)s), status_label = %(label)s
WHERE id = %(pk)s AND status = 'pending' AND lease_token = %(token)s
"""


def defer_report(
    conn: psycopg.Connection[Any], pk: int, token: int, *, in_s: float, label: str | None
) -> bool:
    """The report is not final yet: look again in `in_s` seconds; False when `token` is stale."""
    return conn.execute(DEFER_REPORT, {"pk": pk, "token": token, "in_s": in_s, "label": label}).rowcount == 1


FINISH = """
UPDATE stock_imports SET status = %(status)s, status_label = %(label)s, finished_at = now(),
    report_due_at = NULL
WHERE id = %(pk)s AND status = 'pending' AND lease_token = %(token)s
"""
RECORD_ERRORS = """
UPDATE stock_import_lines l SET error_code = e.code, error_text = e.text
FROM unnest(%(skus)s::text[], %(codes)s::text[], %(texts)s::text[]) AS e(sku, code, text)
WHERE l.import_pk = %(pk)s AND l.sku = e.sku
RETURNING l.sku, l.quantity, l.error_code, l.error_text
"""


def finish_import(
    conn: psycopg.Connection[Any],
    pk: int,
    token: int,
    *,
    status: str,
    label: str | None,
    errors: Sequence[tuple[str, str | None, str | None]],
) -> list[tuple[str, int, str | None, str | None]] | None:
    """Record the final report; return the rejected lines (sku, quantity, code, text).

    Returns None when the import was already final, or `token` is stale (another
    claim of the report poll records it).
    """
    if conn.execute(FINISH, {"pk": pk, "token": token, "status": status, "label": label}).rowcount != 1:
        return None
    if not errors:
        return []
    rows = conn.execute(
        RECORD_ERRORS,
        {
            "pk": pk,
            "skus": [e[0] for e in errors],
            "codes": [e[1] for e in errors],
            "texts": [e[2] for e in errors],
        },
    ).fetchall()
    return [(r[0], int(r[1]), r[2], r[3]) for r in rows]


# A file refused as a whole: each of its SKUs that was not rejected on its own line and
# has no newer change pending goes back to pending, one refusal more, until the bound.
REQUEUE_REFUSED = """
INSERT INTO stock_pending (integration_id, sku, refusals)
SELECT m.integration_id, l.sku, l.refusals + 1 FROM stock_import_lines l
JOIN stock_imports m ON m.id = l.import_pk
JOIN integrations i ON i.integration_id = m.integration_id
WHERE l.import_pk = %(pk)s AND l.error_code IS NULL AND l.refusals + 1 < %(max_refusals)s
    AND i.status = 'verified' AND i.stock_sync_enabled
ON CONFLICT (integration_id, sku) DO NOTHING
RETURNING refusals
"""
GIVEN_UP = """
SELECT l.sku, l.quantity FROM stock_import_lines l
JOIN stock_imports m ON m.id = l.import_pk
WHERE l.import_pk = %(pk)s AND l.error_code IS NULL AND l.refusals + 1 >= %(max_refusals)s
    AND NOT EXISTS (SELECT 1 FROM stock_pending p
                    WHERE p.integration_id = m.integration_id AND p.sku = l.sku)
ORDER BY l.sku
"""


@dataclass(frozen=True)
class Refused:
    """What became of the SKUs of a file Rakuten refused as a whole."""

    requeued: int  #: SKUs pending again
    most_refusals: int  #: the most refusals among them (for the backoff)
    given_up: list[tuple[str, int]]  #: (sku, quantity) refused `max_refusals` times: not sent again


def requeue_refused(conn: psycopg.Connection[Any], pk: int, *, max_refusals: int) -> Refused:
    """Put the SKUs of a file refused as a whole back to pending, up to `max_refusals` refusals.

    A SKU with a newer change pending keeps that change (its count starts afresh).
    """
    params = {"pk": pk, "max_refusals": max_refusals}
    given_up = [(row[0], int(row[1])) for row in conn.execute(GIVEN_UP, params)]
    counts = [int(row[0]) for row in conn.execute(REQUEUE_REFUSED, params)]
    return Refused(len(counts), max(counts, default=0), given_up)
