"""Integrations: one row per merchant's Rakuten connection, with its credentials and status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row


@dataclass(frozen=True)
class Integration:
    """An integration as stored; the token stays encrypted here."""

    integration_id: str
    account_id: str
    application_name: str
    seller_id: str
    token_encrypted: bytes | None
    stock_sync_enabled: bool
    auto_accept_orders: bool
    status: str
    status_detail: str | None
    rakuten_seller_id: str | None
    verified_at: datetime | None
    credentials_version: int
    verify_attempts: int
    orders_failures: int


_COLUMNS = """
integration_id, account_id, application_name, seller_id, token_encrypted, stock_sync_enabled,
auto_accept_orders, status, status_detail, rakuten_seller_id, verified_at, credentials_version,
verify_attempts, orders_failures
"""
GET = f"SELECT {_COLUMNS} FROM integrations WHERE integration_id = %(id)s"
GET_FOR_UPDATE = GET + " FOR UPDATE"
# An install (and new credentials) comes with its verification claimed, token and all:
# the ingress sends it right after the commit, and the lease brings it back if lost.
INSERT = """
INSERT INTO integrations (integration_id, account_id, application_name, seller_id,
    token_encrypted, stock_sync_enabled, auto_accept_orders, verify_due_at,
    verify_lease_token, verify_claims)
VALUES (%(integration_id)s, %(account_id)s, %(application_name)s, %(seller_id)s,
    %(token_encrypted)s, %(stock_sync_enabled)s, %(auto_accept_orders)s,
    now() + make_interval(secs => %(lease_s)s), 1, 1)
RETURNING verify_lease_token
"""
UPDATE_SETTINGS = """
UPDATE integrations SET application_name = %(application_name)s,
    stock_sync_enabled = %(stock_sync_enabled)s, auto_accept_orders = %(auto_accept_orders)s,
    reconcile_due_at = CASE WHEN %(push_all)s THEN now() ELSE reconcile_due_at END,
    updated_at = now()
WHERE integration_id = %(integration_id)s
"""
UPDATE_CREDENTIALS = """
UPDATE integrations SET seller_id = %(seller_id)s, token_encrypted = %(token_encrypted)s,
    credentials_version = credentials_version + 1, status = 'pending', status_detail = NULL,
    verify_attempts = 0, verify_due_at = now() + make_interval(secs => %(lease_s)s),
    verify_lease_token = verify_lease_token + 1, verify_claims = 1,
    orders_due_at = NULL, updated_at = now()
WHERE integration_id = %(integration_id)s
RETURNING verify_lease_token
"""
DELETE = """
UPDATE integrations SET status = 'deleted', token_encrypted = NULL, deleted_at = now(),
    verify_due_at = NULL, orders_due_at = NULL, reconcile_due_at = NULL, updated_at = now()
WHERE integration_id = %(integration_id)s
"""
FORGET_PENDING_STOCK = "DELETE FROM stock_pending WHERE integration_id = %(integration_id)s"
STOP_ACCEPTING = """
UPDATE order_items SET accept_state = 'none', accept_due_at = NULL
WHERE integration_id = %(integration_id)s AND accept_state = 'pending'
"""


def get(conn: psycopg.Connection[Any], integration_id: str, *, lock: bool = False) -> Integration | None:
    """Return the integration, locking its row for the transaction when `lock`."""
    with conn.cursor(row_factory=class_row(Integration)) as cur:
        cur.execute(GET_FOR_UPDATE if lock else GET, {"id": integration_id})
        return cur.fetchone()


def insert(
    conn: psycopg.Connection[Any],
    *,
    integration_id: str,
    account_id: str,
    application_name: str,
    seller_id: str,
    token_encrypted: bytes,
    stock_sync_enabled: bool,
    auto_accept_orders: bool,
    verify_lease_s: float,
) -> int:
    """Store a new integration with its verification claimed; return the claim's token.

    The caller sends the verification with that token right after commit; the
    lease (`verify_lease_s`) is the safety net the scheduler picks up if that
    message is lost.
    """
    row = conn.execute(
        INSERT,
        {
            "integration_id": integration_id,
            "account_id": account_id,
            "application_name": application_name,
            "seller_id": seller_id,
            "token_encrypted": token_encrypted,
            "stock_sync_enabled": stock_sync_enabled,
            "auto_accept_orders": auto_accept_orders,
            "lease_s": verify_lease_s,
        },
    ).fetchone()
    assert row is not None
    return int(row[0])


INSERT_TOMBSTONE = """
INSERT INTO integrations (integration_id, account_id, seller_id, status, deleted_at)
VALUES (%(integration_id)s, %(account_id)s, '', 'deleted', now())
ON CONFLICT (integration_id) DO NOTHING
"""


def insert_tombstone(conn: psycopg.Connection[Any], integration_id: str, account_id: str) -> None:
    """Record an integration deleted before it was installed, so a late install is ignored."""
    conn.execute(INSERT_TOMBSTONE, {"integration_id": integration_id, "account_id": account_id})


def update_settings(
    conn: psycopg.Connection[Any],
    integration_id: str,
    *,
    application_name: str,
    stock_sync_enabled: bool,
    auto_accept_orders: bool,
    push_all_stock: bool,
) -> None:
    """Change the non-secret settings; `push_all_stock` makes a full stock re-send due now."""
    conn.execute(
        UPDATE_SETTINGS,
        {
            "integration_id": integration_id,
            "application_name": application_name,
            "stock_sync_enabled": stock_sync_enabled,
            "auto_accept_orders": auto_accept_orders,
            "push_all": push_all_stock,
        },
    )
    if not stock_sync_enabled:
        conn.execute(FORGET_PENDING_STOCK, {"integration_id": integration_id})


def update_credentials(
    conn: psycopg.Connection[Any],
    integration_id: str,
    *,
    seller_id: str,
    token_encrypted: bytes,
    verify_lease_s: float,
) -> int:
    """Store new credentials; the integration goes back to pending verification.

    The credentials version is bumped (results of a verification of older
    credentials are discarded, and the outcome gets event ids of its own) and the
    verification is claimed: returns the claim's token, for the message.
    """
    row = conn.execute(
        UPDATE_CREDENTIALS,
        {
            "integration_id": integration_id,
            "seller_id": seller_id,
            "token_encrypted": token_encrypted,
            "lease_s": verify_lease_s,
        },
    ).fetchone()
    assert row is not None
    return int(row[0])


def delete(conn: psycopg.Connection[Any], integration_id: str) -> None:
    """Stop all work for the integration and erase its token (the row stays as a tombstone)."""
    params = {"integration_id": integration_id}
    conn.execute(DELETE, params)
    conn.execute(FORGET_PENDING_STOCK, params)
    conn.execute(STOP_ACCEPTING, params)


RECORD_VERIFIED = """
UPDATE integrations SET status = 'verified', status_detail = NULL,
    rakuten_seller_id = %(rakuten_seller_id)s, verified_at = now(), verify_attempts = 0,
    verify_due_at = NULL, orders_due_at = now(), orders_failures = 0,
    reconcile_due_at = CASE WHEN stock_sync_enabled THEN now() ELSE reconcile_due_at END,
    updated_at = now()
WHERE integration_id = %(integration_id)s AND credentials_version = %(version)s
    AND status <> 'deleted'
RETURNING verified_at
"""
RECORD_REFUSED = """
UPDATE integrations SET status = %(status)s, status_detail = %(detail)s, verify_due_at = NULL,
    orders_due_at = NULL, updated_at = now()
WHERE integration_id = %(integration_id)s AND credentials_version = %(version)s
    AND status <> 'deleted'
"""
RECORD_UNAVAILABLE = """
UPDATE integrations SET verify_attempts = verify_attempts + 1,
    status = CASE WHEN %(give_up)s THEN 'unavailable' ELSE status END,
    status_detail = %(detail)s,
    verify_due_at = now() + make_interval(secs => %(retry_in_s)s), updated_at = now()
WHERE integration_id = %(integration_id)s AND credentials_version = %(version)s
    AND status IN ('pending', 'unavailable')
RETURNING verify_attempts
"""


def record_verified(
    conn: psycopg.Connection[Any], integration_id: str, *, version: int, rakuten_seller_id: str
) -> datetime | None:
    """Mark the credentials of `version` verified; order polling becomes due now.

    Returns the verification time, or None when the credentials changed meanwhile
    (or the integration was deleted) and the result no longer applies.
    """
    row = conn.execute(
        RECORD_VERIFIED,
        {"integration_id": integration_id, "version": version, "rakuten_seller_id": rakuten_seller_id},
    ).fetchone()
    return row[0] if row else None


def record_refused(
    conn: psycopg.Connection[Any], integration_id: str, *, version: int, status: str, detail: str
) -> bool:
    """Stop the integration: Rakuten refused its credentials (`status` says how).

    Nothing is polled or pushed for it until an update brings new credentials.
    Returns False when the credentials changed meanwhile.
    """
    cur = conn.execute(
        RECORD_REFUSED,
        {"integration_id": integration_id, "version": version, "status": status, "detail": detail},
    )
    return cur.rowcount == 1


def record_unavailable(
    conn: psycopg.Connection[Any],
    integration_id: str,
    *,
    version: int,
    retry_in_s: float,
    give_up: bool,
    detail: str,
) -> int | None:
    """Count a failed verification attempt and schedule the next; return the attempt count."""
    row = conn.execute(
        RECORD_UNAVAILABLE,
        {
            "integration_id": integration_id,
            "version": version,
            "retry_in_s": retry_in_s,
            "give_up": give_up,
            "detail": detail,
        },
    ).fetchone()
    return int(row[0]) if row else None


REQUEST_VERIFICATION = """
UPDATE integrations SET verify_due_at = now(), updated_at = now()
WHERE integration_id = %(integration_id)s AND status = 'verified' AND verify_due_at IS NULL
"""
END_RECHECK = """
UPDATE integrations SET verify_due_at = NULL, verify_attempts = 0, updated_at = now()
WHERE integration_id = %(integration_id)s AND credentials_version = %(version)s
    AND status = 'verified'
"""


def request_verification(conn: psycopg.Connection[Any], integration_id: str) -> bool:
    """Make a verified integration's verification due now; False if one is already due.

    A call refused with InvalidUserConnection asks for it: only the verification's
    answer may stop the integration.
    """
    return conn.execute(REQUEST_VERIFICATION, {"integration_id": integration_id}).rowcount == 1


def end_recheck(conn: psycopg.Connection[Any], integration_id: str, *, version: int) -> bool:
    """A verified integration's verification is over and it stays verified; False if it changed."""
    return conn.execute(END_RECHECK, {"integration_id": integration_id, "version": version}).rowcount == 1


COUNT_BY_STATUS = "SELECT status, count(*) FROM integrations GROUP BY status"


def count_by_status(conn: psycopg.Connection[Any]) -> dict[str, int]:
    """Return how many integrations are in each status."""
    return {row[0]: int(row[1]) for row in conn.execute(COUNT_BY_STATUS)}


COOL_DOWN_STOCK = """
UPDATE integrations SET stock_not_before = greatest(
    coalesce(stock_not_before, now()), now() + make_interval(secs => %(seconds)s))
WHERE integration_id = %(id)s
"""


def cool_down_stock(conn: psycopg.Connection[Any], integration_id: str, *, seconds: float) -> None:
    """Hold off the integration's next stock file for `seconds` (a longer cool-down stays)."""
    conn.execute(COOL_DOWN_STOCK, {"id": integration_id, "seconds": seconds})
