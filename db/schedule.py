"""Due work, claimed by the scheduler: each claim is a lease with a fencing token.

A claim raises the row's lease token, counts the claim and moves the due time to
the end of a lease; the message sent for the work carries the token
(`db.leases` says how the work uses it). While the lease lasts the work is not
claimed again, so the scheduler has at most one live message per piece of work.
A claimed task whose message is lost, or whose worker dies, is claimed again when
its lease ends, and the old message's token is then stale. Each claim that no
worker started doubles the next lease (up to `MAX_LEASE_DOUBLINGS`): messages
that pile up while no worker runs grow like a logarithm of the time, not
linearly. `FOR UPDATE SKIP LOCKED` lets any number of schedulers run at once.
"""

from __future__ import annotations

from typing import Any

import psycopg

#: a claim not started by a worker doubles the next lease, at most this many times (32x)
MAX_LEASE_DOUBLINGS = 5

# A verified integration has a verification due only when a call was refused with
# InvalidUserConnection: the refusal is confirmed (or not) before it stops anything.
CLAIM_VERIFICATIONS = """
UPDATE integrations SET verify_lease_token = verify_lease_token + 1, verify_claims = verify_claims + 1,
    verify_due_at = now() + make_interval(secs => %(lease_s)s * 2 ^ least(verify_claims, %(doublings)s))
WHERE integration_id IN (
    SELECT integration_id FROM integrations
    WHERE verify_due_at <= now() AND status IN ('pending', 'unavailable', 'verified')
    ORDER BY verify_due_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
RETURNING integration_id, verify_lease_token
"""
CLAIM_ORDER_POLLS = """
UPDATE integrations SET orders_lease_token = orders_lease_token + 1, orders_claims = orders_claims + 1,
    orders_due_at = now() + make_interval(secs => %(lease_s)s * 2 ^ least(orders_claims, %(doublings)s))
WHERE integration_id IN (
    SELECT integration_id FROM integrations
    WHERE status = 'verified' AND orders_due_at <= now()
    ORDER BY orders_due_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
RETURNING integration_id, orders_lease_token
"""
# Driven from stock_pending, not from integrations: only integrations with pending
# SKUs are looked at, found by walking stock_pending's primary key one integration at
# a time (a loose index scan; one index probe per integration, however many SKUs it
# has pending, e.g. a whole catalogue marked for a full re-send).
CLAIM_STOCK_FLUSHES = """
UPDATE integrations SET stock_lease_token = stock_lease_token + 1, stock_claims = stock_claims + 1,
    stock_lease_until = now() + make_interval(secs => %(lease_s)s * 2 ^ least(stock_claims, %(doublings)s))
WHERE integration_id IN (
    WITH RECURSIVE pending (integration_id) AS (
        (SELECT integration_id FROM stock_pending ORDER BY integration_id LIMIT 1)
        UNION ALL
        SELECT (SELECT p.integration_id FROM stock_pending p
                WHERE p.integration_id > pending.integration_id
                ORDER BY p.integration_id LIMIT 1)
        FROM pending WHERE pending.integration_id IS NOT NULL)
    SELECT i.integration_id FROM pending JOIN integrations i USING (integration_id)
    WHERE i.status = 'verified' AND i.stock_sync_enabled
      AND (i.stock_lease_until IS NULL OR i.stock_lease_until <= now())
      AND (i.stock_not_before IS NULL OR i.stock_not_before <= now())
      AND (i.last_stock_file_at IS NULL
           OR i.last_stock_file_at <= now() - make_interval(secs => %(interval_s)s))
    LIMIT %(limit)s FOR UPDATE OF i SKIP LOCKED)
RETURNING integration_id, stock_lease_token
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
UPDATE stock_imports SET lease_token = lease_token + 1, claims = claims + 1,
    report_due_at = now() + make_interval(secs => %(lease_s)s * 2 ^ least(claims, %(doublings)s))
WHERE id IN (
    SELECT m.id FROM stock_imports m JOIN integrations i USING (integration_id)
    WHERE m.status = 'pending' AND m.report_due_at <= now() AND i.status = 'verified'
    ORDER BY m.report_due_at LIMIT %(limit)s FOR UPDATE OF m SKIP LOCKED)
RETURNING id, lease_token
"""
CLAIM_ACCEPTS = """
UPDATE order_items SET accept_lease_token = accept_lease_token + 1, accept_claims = accept_claims + 1,
    accept_due_at = now() + make_interval(secs => %(lease_s)s * 2 ^ least(accept_claims, %(doublings)s))
WHERE (integration_id, item_id) IN (
    SELECT o.integration_id, o.item_id FROM order_items o
    JOIN integrations i USING (integration_id)
    WHERE o.accept_state = 'pending' AND o.accept_due_at <= now() AND i.status = 'verified'
    ORDER BY o.accept_due_at LIMIT %(limit)s FOR UPDATE OF o SKIP LOCKED)
RETURNING integration_id, item_id, accept_lease_token
"""
# The merchant's refusals and cancellations, and the to-do list reads.
CLAIM_CANCELLATIONS = """
UPDATE order_cancellations SET lease_token = lease_token + 1, claims = claims + 1,
    due_at = now() + make_interval(secs => %(lease_s)s * 2 ^ least(claims, %(doublings)s))
WHERE (integration_id, request_id, item_id) IN (
    SELECT c.integration_id, c.request_id, c.item_id FROM order_cancellations c
    JOIN integrations i USING (integration_id)
    WHERE c.state = 'pending' AND c.due_at <= now() AND i.status = 'verified'
    ORDER BY c.due_at LIMIT %(limit)s FOR UPDATE OF c SKIP LOCKED)
RETURNING integration_id, request_id, item_id, lease_token
"""
# A verified integration never read (a NULL due time) is due at once.
CLAIM_TODO_READS = """
UPDATE integrations SET todo_lease_token = todo_lease_token + 1, todo_claims = todo_claims + 1,
    todo_due_at = now() + make_interval(secs => %(lease_s)s * 2 ^ least(todo_claims, %(doublings)s))
WHERE integration_id IN (
    SELECT integration_id FROM integrations
    WHERE status = 'verified' AND (todo_due_at IS NULL OR todo_due_at <= now())
    ORDER BY todo_due_at NULLS FIRST LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
RETURNING integration_id, todo_lease_token
"""
# Releasing claims whose message could not be sent (the broker is away): the work is
# due again at once instead of when its lease ends, minutes later, and the claim that
# sent nothing does not count. A claim made again meanwhile (another token) is left be.
RELEASE = {
    "verify": """UPDATE integrations SET verify_due_at = now(), verify_claims = greatest(verify_claims - 1, 0)
        FROM unnest(%(keys)s::text[], %(tokens)s::bigint[]) AS c(k, t)
        WHERE integration_id = c.k AND verify_lease_token = c.t
          AND status IN ('pending', 'unavailable', 'verified')""",
    "orders": """UPDATE integrations SET orders_due_at = now(), orders_claims = greatest(orders_claims - 1, 0)
        FROM unnest(%(keys)s::text[], %(tokens)s::bigint[]) AS c(k, t)
        WHERE integration_id = c.k AND orders_lease_token = c.t AND status = 'verified'""",
    "stock": """UPDATE integrations SET stock_lease_until = NULL, stock_claims = greatest(stock_claims - 1, 0)
        FROM unnest(%(keys)s::text[], %(tokens)s::bigint[]) AS c(k, t)
        WHERE integration_id = c.k AND stock_lease_token = c.t""",
    "report": """UPDATE stock_imports SET report_due_at = now(), claims = greatest(claims - 1, 0)
        FROM unnest(%(keys)s::bigint[], %(tokens)s::bigint[]) AS c(k, t)
        WHERE id = c.k AND lease_token = c.t AND status = 'pending'""",
    "accept": """UPDATE order_items SET accept_due_at = now(), accept_claims = greatest(accept_claims - 1, 0)
        FROM unnest(%(keys)s::text[], %(items)s::text[], %(tokens)s::bigint[]) AS c(k, i, t)
        WHERE integration_id = c.k AND item_id = c.i AND accept_lease_token = c.t
          AND accept_state = 'pending'""",
    "cancel": """UPDATE order_cancellations SET due_at = now(), claims = greatest(claims - 1, 0)
        FROM unnest(%(keys)s::text[], %(requests)s::text[], %(items)s::text[], %(tokens)s::bigint[])
            AS c(k, r, i, t)
        WHERE integration_id = c.k AND request_id = c.r AND item_id = c.i AND lease_token = c.t
          AND state = 'pending'""",
    "todo": """UPDATE integrations SET todo_due_at = now(), todo_claims = greatest(todo_claims - 1, 0)
        FROM unnest(%(keys)s::text[], %(tokens)s::bigint[]) AS c(k, t)
        WHERE integration_id = c.k AND todo_lease_token = c.t AND status = 'verified'""",
}
OUTBOX_WAITING = """
SELECT EXISTS (SELECT 1 FROM outbox WHERE sent_at IS NULL
               AND created_at <= now() - make_interval(secs => %(older_than_s)s))
"""


def _claims(conn: psycopg.Connection[Any], query: str, **params: object) -> list[Any]:
    return [tuple(row) for row in conn.execute(query, {**params, "doublings": MAX_LEASE_DOUBLINGS})]


def claim_verifications(
    conn: psycopg.Connection[Any], *, lease_s: float, limit: int
) -> list[tuple[str, int]]:
    """Claim integrations whose verification is due; return (integration id, token) pairs."""
    return _claims(conn, CLAIM_VERIFICATIONS, lease_s=lease_s, limit=limit)


def claim_order_polls(conn: psycopg.Connection[Any], *, lease_s: float, limit: int) -> list[tuple[str, int]]:
    """Claim verified integrations whose order poll is due; return (integration id, token) pairs."""
    return _claims(conn, CLAIM_ORDER_POLLS, lease_s=lease_s, limit=limit)


def claim_stock_flushes(
    conn: psycopg.Connection[Any], *, interval_s: float, lease_s: float, limit: int
) -> list[tuple[str, int]]:
    """Claim integrations with pending SKUs whose last file is at least `interval_s` old."""
    return _claims(
        conn, CLAIM_STOCK_FLUSHES, interval_s=interval_s, lease_s=lease_s, limit=limit
    )


def claim_reconciliations(conn: psycopg.Connection[Any], *, every_s: float, limit: int) -> list[str]:
    """Claim integrations whose full stock re-send is due; the next one is `every_s` later.

    No Rakuten call follows (the SKUs are marked pending in the claim's transaction),
    so this claim needs no token.
    """
    return [row[0] for row in conn.execute(CLAIM_RECONCILIATIONS, {"every_s": every_s, "limit": limit})]


def claim_reports(conn: psycopg.Connection[Any], *, lease_s: float, limit: int) -> list[tuple[int, int]]:
    """Claim stock imports whose report is due to be read; return (import id, token) pairs."""
    return _claims(conn, CLAIM_REPORTS, lease_s=lease_s, limit=limit)


def claim_accepts(
    conn: psycopg.Connection[Any], *, lease_s: float, limit: int
) -> list[tuple[str, str, int]]:
    """Claim sale items whose acceptance is due; return (integration id, item id, token)."""
    return _claims(conn, CLAIM_ACCEPTS, lease_s=lease_s, limit=limit)


def claim_cancellations(
    conn: psycopg.Connection[Any], *, lease_s: float, limit: int
) -> list[tuple[str, str, str, int]]:
    """Claim due refusal or cancellation steps; return (integration, request, item, token)."""
    return _claims(conn, CLAIM_CANCELLATIONS, lease_s=lease_s, limit=limit)


def claim_todo_reads(conn: psycopg.Connection[Any], *, lease_s: float, limit: int) -> list[tuple[str, int]]:
    """Claim verified integrations whose to-do list read is due; return (integration id, token)."""
    return _claims(conn, CLAIM_TODO_READS, lease_s=lease_s, limit=limit)


def release(conn: psycopg.Connection[Any], kind: str, claimed: list[tuple[Any, ...]]) -> None:
    """Make claimed work of `kind` (verify, orders, stock, report, accept, cancel, todo) due again now.

    `claimed` holds what the claim returned: the key then the token of each row.
    """
    if not claimed:
        return
    params: dict[str, list[Any]] = {"keys": [c[0] for c in claimed], "tokens": [c[-1] for c in claimed]}
    if kind == "accept":
        params["items"] = [c[1] for c in claimed]
    elif kind == "cancel":
        params["requests"] = [c[1] for c in claimed]
        params["items"] = [c[2] for c in claimed]
    conn.execute(RELEASE[kind], params)


def outbox_waiting(conn: psycopg.Connection[Any], *, older_than_s: float) -> bool:
    """Whether some event has waited in the outbox longer than `older_than_s`."""
    row = conn.execute(OUTBOX_WAITING, {"older_than_s": older_than_s}).fetchone()
    return bool(row and row[0])


FINISH_ORDER_POLL = """
UPDATE integrations SET orders_due_at = now() + make_interval(secs => %(next_in_s)s),
    last_orders_poll_at = CASE WHEN %(ok)s THEN now() ELSE last_orders_poll_at END,
    orders_failures = CASE WHEN %(ok)s THEN 0 ELSE orders_failures + 1 END
WHERE integration_id = %(integration_id)s AND status = 'verified' AND orders_lease_token = %(token)s
RETURNING orders_failures
"""


def finish_order_poll(
    conn: psycopg.Connection[Any], integration_id: str, token: int, *, ok: bool, next_in_s: float
) -> int | None:
    """Schedule the next poll; return the count of consecutive failed polls.

    Returns None when `token` is no longer current: the poll was claimed again
    meanwhile, and that claim records its own outcome.
    """
    row = conn.execute(
        FINISH_ORDER_POLL,
        {"integration_id": integration_id, "token": token, "ok": ok, "next_in_s": next_in_s},
    ).fetchone()
    return int(row[0]) if row else None


POLL_LAG_SUMMARY = """
SELECT coalesce(max(lag), 0), count(*) FILTER (WHERE lag > %(late_after_s)s), count(*)
FROM (SELECT extract(epoch FROM now() - coalesce(last_orders_poll_at, verified_at)) AS lag
      FROM integrations WHERE status = 'verified') AS lags
"""


def order_poll_lag_summary(conn: psycopg.Connection[Any], *, late_after_s: float) -> tuple[float, int, int]:
    """Over the verified integrations: the largest poll lag (s), how many are late, how many there are.

    The lag is the time since an integration's last successful order poll; one is
    late when its lag passes `late_after_s`. One row whatever the number of
    merchants, so a metric built on it has a fixed number of series.
    """
    row = conn.execute(POLL_LAG_SUMMARY, {"late_after_s": late_after_s}).fetchone()
    assert row is not None
    return float(row[0] or 0.0), int(row[1]), int(row[2])
