"""Due work, claimed by the scheduler: each claim moves the due time one lease ahead.

A claimed task whose message is lost, or whose worker dies, becomes due again
when its lease ends, so nothing stays stuck. `FOR UPDATE SKIP LOCKED` lets any
number of schedulers run at once without claiming the same row twice.
"""

from __future__ import annotations

from typing import Any

import psycopg

CLAIM_VERIFICATIONS = """
UPDATE integrations SET verify_due_at = now() + make_interval(secs => %(lease_s)s)
WHERE integration_id IN (
    SELECT integration_id FROM integrations
    WHERE verify_due_at <= now() AND status IN ('pending', 'unavailable')
    ORDER BY verify_due_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
RETURNING integration_id
"""
CLAIM_ORDER_POLLS = """
UPDATE integrations SET orders_due_at = now() + make_interval(secs => %(lease_s)s)
WHERE integration_id IN (
    SELECT integration_id FROM integrations
    WHERE status = 'verified' AND orders_due_at <= now()
    ORDER BY orders_due_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
RETURNING integration_id
"""
CLAIM_STOCK_FLUSHES = """
UPDATE integrations SET stock_lease_until = now() + make_interval(secs => %(lease_s)s)
WHERE integration_id IN (
    SELECT i.integration_id FROM integrations i
    WHERE i.status = 'verified' AND i.stock_sync_enabled
      AND (i.stock_lease_until IS NULL OR i.stock_lease_until <= now())
      AND (i.stock_not_before IS NULL OR i.stock_not_before <= now())
      AND (i.last_stock_file_at IS NULL
           OR i.last_stock_file_at <= now() - make_interval(secs => %(interval_s)s))
      AND EXISTS (SELECT 1 FROM stock_pending p WHERE p.integration_id = i.integration_id)
    LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
RETURNING integration_id
"""
CLAIM_RECONCILIATIONS = """
UPDATE integrations SET reconcile_due_at = now() + make_interval(secs => %(every_s)s)
WHERE integration_id IN (
    SELECT integration_id FROM integrations
    WHERE status = 'verified' AND stock_sync_enabled AND reconcile_due_at <= now()
    LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
RETURNING integration_id
"""
CLAIM_REPORTS = """
UPDATE stock_imports SET report_due_at = now() + make_interval(secs => %(lease_s)s)
WHERE id IN (
    SELECT m.id FROM stock_imports m JOIN integrations i USING (integration_id)
    WHERE m.status = 'pending' AND m.report_due_at <= now() AND i.status = 'verified'
    ORDER BY m.report_due_at LIMIT %(limit)s FOR UPDATE OF m SKIP LOCKED)
RETURNING id
"""
CLAIM_ACCEPTS = """
UPDATE order_items SET accept_due_at = now() + make_interval(secs => %(lease_s)s)
WHERE (integration_id, item_id) IN (
    SELECT o.integration_id, o.item_id FROM order_items o
    JOIN integrations i USING (integration_id)
    WHERE o.accept_state = 'pending' AND o.accept_due_at <= now() AND i.status = 'verified'
    ORDER BY o.accept_due_at LIMIT %(limit)s FOR UPDATE OF o SKIP LOCKED)
RETURNING integration_id, item_id
"""
# The merchant's refusals and cancellations, and the to-do list reads: fenced claims,
# the message carries the token returned.
CLAIM_CANCELLATIONS = """
UPDATE order_cancellations SET lease_token = lease_token + 1, claims = claims + 1,
    due_at = now() + make_interval(secs => %(lease_s)s)
WHERE (integration_id, request_id, item_id) IN (
    SELECT c.integration_id, c.request_id, c.item_id FROM order_cancellations c
    JOIN integrations i USING (integration_id)
    WHERE c.state = 'pending' AND c.due_at <= now() AND i.status = 'verified'
    ORDER BY c.due_at LIMIT %(limit)s FOR UPDATE OF c SKIP LOCKED)
RETURNING integration_id, request_id, item_id, lease_token
"""
CLAIM_TODO_READS = """
UPDATE integrations SET todo_lease_token = todo_lease_token + 1, todo_claims = todo_claims + 1,
    todo_due_at = now() + make_interval(secs => %(lease_s)s)
WHERE integration_id IN (
    SELECT integration_id FROM integrations
    WHERE status = 'verified' AND (todo_due_at IS NULL OR todo_due_at <= now())
    ORDER BY todo_due_at NULLS FIRST LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
RETURNING integration_id, todo_lease_token
"""
# Releasing claims whose message could not be sent (the broker is away): the work is
# due again at once instead of when its lease ends, minutes later.
RELEASE = {
    "verify": """UPDATE integrations SET verify_due_at = now()
        WHERE integration_id = ANY(%(ids)s) AND status IN ('pending', 'unavailable')""",
    "orders": """UPDATE integrations SET orders_due_at = now()
        WHERE integration_id = ANY(%(ids)s) AND status = 'verified'""",
    "stock": "UPDATE integrations SET stock_lease_until = NULL WHERE integration_id = ANY(%(ids)s)",
    "report": """UPDATE stock_imports SET report_due_at = now()
        WHERE id = ANY(%(ids)s::bigint[]) AND status = 'pending'""",
    "accept": """UPDATE order_items SET accept_due_at = now()
        WHERE (integration_id, item_id) IN (SELECT * FROM unnest(%(ids)s::text[], %(items)s::text[]))
        AND accept_state = 'pending'""",
    "cancel": """UPDATE order_cancellations SET due_at = now(), claims = greatest(claims - 1, 0)
        FROM unnest(%(ids)s::text[], %(requests)s::text[], %(items)s::text[], %(tokens)s::bigint[])
            AS c(k, r, i, t)
        WHERE integration_id = c.k AND request_id = c.r AND item_id = c.i AND lease_token = c.t
          AND state = 'pending'""",
    "todo": """UPDATE integrations SET todo_due_at = now(), todo_claims = greatest(todo_claims - 1, 0)
        FROM unnest(%(ids)s::text[], %(tokens)s::bigint[]) AS c(k, t)
        WHERE integration_id = c.k AND todo_lease_token = c.t AND status = 'verified'""",
}
OUTBOX_WAITING = """
SELECT EXISTS (SELECT 1 FROM outbox WHERE sent_at IS NULL
               AND created_at <= now() - make_interval(secs => %(older_than_s)s))
"""


def _ids(conn: psycopg.Connection[Any], query: str, **params: object) -> list[str]:
    return [row[0] for row in conn.execute(query, params)]


def claim_verifications(conn: psycopg.Connection[Any], *, lease_s: float, limit: int) -> list[str]:
    """Claim integrations whose verification is due."""
    return _ids(conn, CLAIM_VERIFICATIONS, lease_s=lease_s, limit=limit)


def claim_order_polls(conn: psycopg.Connection[Any], *, lease_s: float, limit: int) -> list[str]:
    """Claim verified integrations whose order poll is due."""
    return _ids(conn, CLAIM_ORDER_POLLS, lease_s=lease_s, limit=limit)


def claim_stock_flushes(
    conn: psycopg.Connection[Any], *, interval_s: float, lease_s: float, limit: int
) -> list[str]:
    """Claim integrations with pending SKUs whose last file is at least `interval_s` old."""
    return _ids(conn, CLAIM_STOCK_FLUSHES, interval_s=interval_s, lease_s=lease_s, limit=limit)


def claim_reconciliations(conn: psycopg.Connection[Any], *, every_s: float, limit: int) -> list[str]:
    """Claim integrations whose full stock re-send is due; the next one is `every_s` later."""
    return _ids(conn, CLAIM_RECONCILIATIONS, every_s=every_s, limit=limit)


def claim_reports(conn: psycopg.Connection[Any], *, lease_s: float, limit: int) -> list[int]:
    """Claim stock imports whose report is due to be read."""
    return [int(row[0]) for row in conn.execute(CLAIM_REPORTS, {"lease_s": lease_s, "limit": limit})]


def claim_accepts(conn: psycopg.Connection[Any], *, lease_s: float, limit: int) -> list[tuple[str, str]]:
    """Claim sale items whose acceptance is due; return (integration id, item id) pairs."""
    rows = conn.execute(CLAIM_ACCEPTS, {"lease_s": lease_s, "limit": limit})
    return [(row[0], row[1]) for row in rows]


def claim_cancellations(
    conn: psycopg.Connection[Any], *, lease_s: float, limit: int
) -> list[tuple[str, str, str, int]]:
    """Claim due refusal or cancellation steps; return (integration, request, item, token)."""
    rows = conn.execute(CLAIM_CANCELLATIONS, {"lease_s": lease_s, "limit": limit})
    return [(row[0], row[1], row[2], int(row[3])) for row in rows]


def claim_todo_reads(conn: psycopg.Connection[Any], *, lease_s: float, limit: int) -> list[tuple[str, int]]:
    """Claim verified integrations whose to-do list read is due; return (integration, token)."""
    rows = conn.execute(CLAIM_TODO_READS, {"lease_s": lease_s, "limit": limit})
    return [(row[0], int(row[1])) for row in rows]


def release(conn: psycopg.Connection[Any], kind: str, claimed: list[Any]) -> None:
    """Make claimed work of `kind` (verify, orders, stock, report, accept, cancel, todo) due again now.

    `claimed` holds what the claim returned: integration ids, import ids,
    (integration id, item id) pairs for accept, and with their token the
    (integration, request, item, token) of cancel and (integration, token) of todo.
    """
    if not claimed:
        return
    if kind == "accept":
        params = {"ids": [pair[0] for pair in claimed], "items": [pair[1] for pair in claimed]}
    elif kind == "cancel":
        ids, requests, items, tokens = (list(column) for column in zip(*claimed, strict=True))
        params = {"ids": ids, "requests": requests, "items": items, "tokens": tokens}
    elif kind == "todo":
        params = {"ids": [c[0] for c in claimed], "tokens": [c[1] for c in claimed]}
    else:
        params = {"ids": list(claimed)}
    conn.execute(RELEASE[kind], params)


def outbox_waiting(conn: psycopg.Connection[Any], *, older_than_s: float) -> bool:
    """Whether some event has waited in the outbox longer than `older_than_s`."""
    row = conn.execute(OUTBOX_WAITING, {"older_than_s": older_than_s}).fetchone()
    return bool(row and row[0])


FINISH_ORDER_POLL = """
UPDATE integrations SET orders_due_at = now() + make_interval(secs => %(next_in_s)s),
    last_orders_poll_at = CASE WHEN %(ok)s THEN now() ELSE last_orders_poll_at END,
    orders_failures = CASE WHEN %(ok)s THEN 0 ELSE orders_failures + 1 END
WHERE integration_id = %(integration_id)s AND status = 'verified'
RETURNING orders_failures
"""


def finish_order_poll(
    conn: psycopg.Connection[Any], integration_id: str, *, ok: bool, next_in_s: float
) -> int:
    """Schedule the next poll; return the count of consecutive failed polls."""
    row = conn.execute(
        FINISH_ORDER_POLL, {"integration_id": integration_id, "ok": ok, "next_in_s": next_in_s}
    ).fetchone()
    return int(row[0]) if row else 0


POLL_LAG = """
SELECT integration_id, extract(epoch FROM now() - coalesce(last_orders_poll_at, verified_at))
FROM integrations WHERE status = 'verified'
"""


def order_poll_lag(conn: psycopg.Connection[Any]) -> dict[str, float]:
    """Seconds since each verified integration's last successful order poll."""
    return {row[0]: float(row[1] or 0.0) for row in conn.execute(POLL_LAG)}
