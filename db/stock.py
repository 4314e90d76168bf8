"""Stock: latest quantities per (account, sku), pending SKUs per integration, import files."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg


@dataclass(frozen=True)
class StockChange:
    """A quantity reported by an inbound event."""

    account_id: str
    sku: str
    quantity: int
    version: int | None
    event_time: datetime
    event_id: str


def newest_per_sku(changes: Sequence[StockChange]) -> list[StockChange]:
    """Keep, per (account, sku), the change that latest-wins ordering puts last."""
    newest: dict[tuple[str, str], StockChange] = {}
    for change in changes:
        key = (change.account_id, change.sku)
        current = newest.get(key)
        if current is None or _newer(change, current):
            newest[key] = change
    return list(newest.values())


def _newer(a: StockChange, b: StockChange) -> bool:
    if a.version is not None and b.version is not None:
        return (a.version, a.event_time, a.event_id) > (b.version, b.event_time, b.event_id)
    return (a.event_time, a.event_id) > (b.event_time, b.event_id)


APPLY_LEVELS = """
INSERT INTO stock_levels AS s (account_id, sku, quantity, version, event_time, event_id)
SELECT * FROM unnest(%(accounts)s::text[], %(skus)s::text[], %(quantities)s::int[],
                     %(versions)s::bigint[], %(times)s::timestamptz[], %(ids)s::text[])
ON CONFLICT (account_id, sku) DO UPDATE SET quantity = excluded.quantity,
    version = excluded.version, event_time = excluded.event_time,
    event_id = excluded.event_id, updated_at = now()
WHERE CASE WHEN excluded.version IS NOT NULL AND s.version IS NOT NULL
           THEN (excluded.version, excluded.event_time, excluded.event_id)
                > (s.version, s.event_time, s.event_id)
           ELSE (excluded.event_time, excluded.event_id) > (s.event_time, s.event_id) END
RETURNING account_id, sku
"""
MARK_PENDING = """
INSERT INTO stock_pending (integration_id, sku)
SELECT i.integration_id, c.sku
FROM unnest(%(accounts)s::text[], %(skus)s::text[]) AS c(account_id, sku)
JOIN integrations i ON i.account_id = c.account_id
    AND i.status = 'verified' AND i.stock_sync_enabled
ORDER BY i.integration_id, c.sku
ON CONFLICT (integration_id, sku) DO UPDATE SET change_seq = nextval('stock_change_seq'), refusals = 0
"""


def apply_changes(conn: psycopg.Connection[Any], changes: Sequence[StockChange]) -> int:
    """Apply quantities, latest wins per (account, sku); mark the SKUs that changed pending.

    Pending is marked for every verified integration of the account with stock
    sync on, and only those. Returns how many (account, sku) changed.
    """
    # Rows are locked in the order they are written: two ingress processes applying
    # overlapping batches in different orders deadlock (PostgreSQL then aborts one,
    # retried after a backoff). Sorted, every batch takes its locks in the same order.
    newest = sorted(newest_per_sku(changes), key=lambda c: (c.account_id, c.sku))
    if not newest:
        return 0
    rows = conn.execute(
        APPLY_LEVELS,
        {
            "accounts": [c.account_id for c in newest],
            "skus": [c.sku for c in newest],
            "quantities": [c.quantity for c in newest],
            "versions": [c.version for c in newest],
            "times": [c.event_time for c in newest],
            "ids": [c.event_id for c in newest],
        },
    ).fetchall()
    if rows:
        conn.execute(MARK_PENDING, {"accounts": [r[0] for r in rows], "skus": [r[1] for r in rows]})
    return len(rows)


MARK_ALL_PENDING = """
INSERT INTO stock_pending (integration_id, sku)
SELECT i.integration_id, s.sku FROM integrations i
JOIN stock_levels s ON s.account_id = i.account_id
WHERE i.integration_id = %(integration_id)s
ON CONFLICT (integration_id, sku) DO UPDATE SET change_seq = nextval('stock_change_seq')
"""


def mark_all_pending(conn: psycopg.Connection[Any], integration_id: str) -> int:
    """Mark every known SKU of the integration's account pending (a full re-send)."""
    return conn.execute(MARK_ALL_PENDING, {"integration_id": integration_id}).rowcount


# When the previous flush's last upload has an unknown outcome (a timeout, a 5xx, a
# crash mid-upload), Rakuten may apply it after the file this flush sends, with older
# quantities: a full re-send is then due once that file has surely been applied or
# dropped. An upload Rakuten refused (quota, an error code) went nowhere: nothing to heal.
BEGIN_FLUSH = """
UPDATE integrations i SET last_stock_file_at = now(),
    reconcile_due_at = CASE
        WHEN i.stock_upload_unconfirmed THEN now() + make_interval(secs => %(resend_unconfirmed_s)s)
        ELSE i.reconcile_due_at END,
    stock_upload_unconfirmed = false
WHERE integration_id = %(integration_id)s AND stock_lease_token = %(token)s
    AND status = 'verified' AND stock_sync_enabled
    AND (last_stock_file_at IS NULL
         OR last_stock_file_at <= now() - make_interval(secs => %(interval_s)s))
    AND (stock_not_before IS NULL OR stock_not_before <= now())
"""


def begin_flush(
    conn: psycopg.Connection[Any],
    integration_id: str,
    token: int,
    *,
    interval_s: float,
    resend_unconfirmed_s: float,
) -> bool:
    """Take the integration's next file slot, if its interval has passed; commit before uploading.

    Only the claim holding `token` may. The row update serialises concurrent
    workers: of two that try at once, one gets the slot and the other sees the
    new `last_stock_file_at`. When the previous upload's outcome is unknown, a
    full re-send becomes due in `resend_unconfirmed_s`.
    """
    cur = conn.execute(
        BEGIN_FLUSH,
        {
            "integration_id": integration_id,
            "token": token,
            "interval_s": interval_s,
            "resend_unconfirmed_s": resend_unconfirmed_s,
        },
    )
    return cur.rowcount == 1


UPLOADING = """
UPDATE integrations SET stock_upload_unconfirmed = %(unconfirmed)s
WHERE integration_id = %(integration_id)s AND stock_lease_token = %(token)s
"""


def set_upload_unconfirmed(
    conn: psycopg.Connection[Any], integration_id: str, token: int, *, unconfirmed: bool
) -> bool:
    """Say an upload is under way (its outcome unknown until Rakuten answers), or answered.

    Returns False when `token` is no longer current: the flush was claimed again.
    """
    params = {"integration_id": integration_id, "token": token, "unconfirmed": unconfirmed}
    return conn.execute(UPLOADING, params).rowcount == 1


@dataclass(frozen=True)
class PendingLine:
    """A SKU to send, with its current quantity and the marking it answers."""

    sku: str
    quantity: int
    change_seq: int
    refusals: int = 0  #: files Rakuten refused as a whole that carried this marking


PENDING_LINES = """
SELECT p.sku, s.quantity, p.change_seq, p.refusals FROM stock_pending p
JOIN integrations i ON i.integration_id = p.integration_id
JOIN stock_levels s ON s.account_id = i.account_id AND s.sku = p.sku
WHERE p.integration_id = %(integration_id)s
ORDER BY p.sku
"""


def pending_lines(conn: psycopg.Connection[Any], integration_id: str) -> list[PendingLine]:
    """Return the integration's pending SKUs with their current quantities."""
    return [
        PendingLine(r[0], int(r[1]), int(r[2]), int(r[3]))
        for r in conn.execute(PENDING_LINES, {"integration_id": integration_id})
    ]


CLEAR_SENT = """
DELETE FROM stock_pending p
USING unnest(%(skus)s::text[], %(seqs)s::bigint[]) AS sent(sku, seq)
WHERE p.integration_id = %(integration_id)s AND p.sku = sent.sku AND p.change_seq = sent.seq
"""


def clear_sent(conn: psycopg.Connection[Any], integration_id: str, lines: Sequence[PendingLine]) -> int:
    """Unmark exactly what was sent: a SKU marked again meanwhile stays pending."""
    return conn.execute(
        CLEAR_SENT,
        {
            "integration_id": integration_id,
            "skus": [line.sku for line in lines],
            "seqs": [line.change_seq for line in lines],
        },
    ).rowcount


END_FLUSH = """
UPDATE integrations SET stock_lease_until = NULL,
    stock_not_before = CASE WHEN %(defer_s)s::float8 IS NULL THEN stock_not_before
                            ELSE now() + make_interval(secs => %(defer_s)s) END
WHERE integration_id = %(integration_id)s AND stock_lease_token = %(token)s
"""


def end_flush(
    conn: psycopg.Connection[Any], integration_id: str, token: int, *, defer_s: float | None = None
) -> None:
    """Release the flush lease held by `token`; `defer_s` holds off the next flush (a cool-down)."""
    conn.execute(END_FLUSH, {"integration_id": integration_id, "token": token, "defer_s": defer_s})


REFUSE_PENDING = """
UPDATE stock_pending p SET refusals = p.refusals + 1
FROM unnest(%(skus)s::text[], %(seqs)s::bigint[]) AS sent(sku, seq)
WHERE p.integration_id = %(integration_id)s AND p.sku = sent.sku AND p.change_seq = sent.seq
RETURNING p.refusals
"""


def count_refusal(conn: psycopg.Connection[Any], integration_id: str, lines: Sequence[PendingLine]) -> int:
    """Count one refusal of a file carrying `lines` (those still pending as sent); return the most."""
    rows = conn.execute(
        REFUSE_PENDING,
        {
            "integration_id": integration_id,
            "skus": [line.sku for line in lines],
            "seqs": [line.change_seq for line in lines],
        },
    ).fetchall()
    return max((int(row[0]) for row in rows), default=0)
