"""Stock import files sent to Rakuten, their lines and what the import report said."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import class_row

INSERT_IMPORT = """
INSERT INTO stock_imports (integration_id, rakuten_import_id, kind, sku_count, report_due_at)
VALUES (%(integration_id)s, %(import_id)s, %(kind)s, %(count)s,
        now() + make_interval(secs => %(report_in_s)s))
RETURNING id
"""
INSERT_LINES = """
INSERT INTO stock_import_lines (import_pk, sku, quantity)
SELECT %(pk)s, * FROM unnest(%(skus)s::text[], %(quantities)s::int[])
"""


def record_import(
    conn: psycopg.Connection[Any],
    integration_id: str,
    *,
    rakuten_import_id: str,
    kind: str,
    lines: Sequence[tuple[str, int]],
    report_in_s: float,
) -> int:
    """Record a file Rakuten accepted and what it contained; its report is due in `report_in_s`."""
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
    assert row is not None
    pk = int(row[0])
    conn.execute(
        INSERT_LINES,
        {"pk": pk, "skus": [sku for sku, _ in lines], "quantities": [qty for _, qty in lines]},
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
WHERE id = %(pk)s AND status = 'pending'
"""


def defer_report(conn: psycopg.Connection[Any], pk: int, *, in_s: float, label: str | None) -> None:
    """The report is not final yet: look again in `in_s` seconds."""
    conn.execute(DEFER_REPORT, {"pk": pk, "in_s": in_s, "label": label})


FINISH = """
UPDATE stock_imports SET status = %(status)s, status_label = %(label)s, finished_at = now(),
    report_due_at = NULL
WHERE id = %(pk)s AND status = 'pending'
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
    *,
    status: str,
    label: str | None,
    errors: Sequence[tuple[str, str | None, str | None]],
) -> list[tuple[str, int, str | None, str | None]] | None:
    """Record the final report; return the rejected lines (sku, quantity, code, text).

    Returns None when the import was already final (another worker recorded it).
    """
    if conn.execute(FINISH, {"pk": pk, "status": status, "label": label}).rowcount != 1:
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


REQUEUE_LINES = """
INSERT INTO stock_pending (integration_id, sku)
SELECT m.integration_id, l.sku FROM stock_import_lines l
JOIN stock_imports m ON m.id = l.import_pk
JOIN integrations i ON i.integration_id = m.integration_id
WHERE l.import_pk = %(pk)s AND i.status = 'verified' AND i.stock_sync_enabled
ON CONFLICT (integration_id, sku) DO NOTHING
"""


def requeue_lines(conn: psycopg.Connection[Any], pk: int) -> int:
    """Put the SKUs of a file that failed as a whole back to pending."""
    return conn.execute(REQUEUE_LINES, {"pk": pk}).rowcount
