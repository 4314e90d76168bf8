"""Queries of the operator commands: the status overview and work made due now.

Making work due only moves a due time; the scheduler claims it on its next tick
and the usual leases and locks apply, so a command never races a running worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row


@dataclass(frozen=True)
class IntegrationStatus:
    """One integration as the `status` command shows it."""

    integration_id: str
    account_id: str
    seller_id: str
    status: str
    status_detail: str | None
    stock_sync_enabled: bool
    verified_at: datetime | None
    last_orders_poll_at: datetime | None
    #: seconds since the last successful order poll (verified integrations only)
    poll_lag_s: float | None
    orders_failures: int
    next_poll_at: datetime | None
    last_stock_file_at: datetime | None
    #: the quota cool-down: no stock file before this time
    stock_not_before: datetime | None
    pending_skus: int
    pending_imports: int


STATUS = """
SELECT i.integration_id, i.account_id, i.seller_id, i.status, i.status_detail,
    i.stock_sync_enabled, i.verified_at, i.last_orders_poll_at,
    CASE WHEN i.status = 'verified'
         THEN extract(epoch FROM now() - coalesce(i.last_orders_poll_at, i.verified_at))::float8
    END AS poll_lag_s,
    i.orders_failures,
    CASE WHEN i.status = 'verified' THEN i.orders_due_at END AS next_poll_at,
    i.last_stock_file_at,
    CASE WHEN i.stock_not_before > now() THEN i.stock_not_before END AS stock_not_before,
    (SELECT count(*) FROM stock_pending p
     WHERE p.integration_id = i.integration_id)::int AS pending_skus,
    (SELECT count(*) FROM stock_imports m
     WHERE m.integration_id = i.integration_id AND m.status = 'pending')::int AS pending_imports
FROM integrations i
WHERE i.status <> 'deleted'
ORDER BY i.integration_id
"""


def integration_statuses(conn: psycopg.Connection[Any]) -> list[IntegrationStatus]:
    """Return every integration that is not deleted, with its polling and stock state."""
    with conn.cursor(row_factory=class_row(IntegrationStatus)) as cur:
        cur.execute(STATUS)
        return cur.fetchall()


VERIFY_NOW = """
UPDATE integrations SET status = 'pending', status_detail = NULL, verify_attempts = 0,
    credentials_version = credentials_version + 1,
    verify_due_at = now(), orders_due_at = NULL, updated_at = now()
WHERE integration_id = %(integration_id)s AND status <> 'deleted' AND token_encrypted IS NOT NULL
"""
POLL_NOW = """
UPDATE integrations SET orders_due_at = now()
WHERE integration_id = %(integration_id)s AND status = 'verified'
"""
RECONCILE_NOW = """
UPDATE integrations SET reconcile_due_at = now()
WHERE integration_id = %(integration_id)s AND status = 'verified' AND stock_sync_enabled
"""


def verify_now(conn: psycopg.Connection[Any], integration_id: str) -> bool:
    """Make a verification of the current credentials due now; return whether it was.

    The integration goes back to pending (nothing is polled or pushed until the
    outcome) with its attempts reset. The credentials version is bumped as for
    new credentials, so the outcome gets event ids of its own and is published
    even when the same outcome was published before (verified, then refused,
    then verified again); a verification still running for the previous version
    is discarded. Deleted integrations and those without a token are left alone.
    """
    return conn.execute(VERIFY_NOW, {"integration_id": integration_id}).rowcount == 1


def poll_now(conn: psycopg.Connection[Any], integration_id: str) -> bool:
    """Make a verified integration's order poll due now; return whether it was."""
    return conn.execute(POLL_NOW, {"integration_id": integration_id}).rowcount == 1


def reconcile_now(conn: psycopg.Connection[Any], integration_id: str) -> bool:
    """Make a full stock re-send due now (verified, stock sync on); return whether it was.

    The re-send goes out in the integration's next file, which still waits for
    the push interval and any quota cool-down.
    """
    return conn.execute(RECONCILE_NOW, {"integration_id": integration_id}).rowcount == 1
