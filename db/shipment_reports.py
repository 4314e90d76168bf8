"""Which shipment outcomes are ready to publish, and the shipments the status command shows.

A batch (the items of a shipment told together) is reported once every item of it
is final: `reportable` returns its unreported items and `mark_reported` records
that their events were written, in the transaction that wrote them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row


@dataclass(frozen=True)
class Header:
    """What every outcome event of a shipment names."""

    shipment_id: int
    event_id: str
    integration_id: str
    account_id: str
    order_id: str
    transporter: str
    tracking_number: str | None


@dataclass(frozen=True)
class Settled:
    """A final item of a batch whose items are all final, not reported yet."""

    batch: int
    item_id: str
    state: str
    reason: str | None
    detail: str | None


HEADER = """
SELECT id AS shipment_id, event_id, integration_id, account_id, order_id, transporter, tracking_number
FROM shipments WHERE id = %(shipment_id)s
"""
REPORTABLE = """
SELECT r.batch, r.item_id, r.state, r.reason, r.detail FROM shipment_items r
WHERE r.shipment_id = %(shipment_id)s AND NOT r.reported AND r.state IN ('confirmed', 'failed')
  AND NOT EXISTS (SELECT 1 FROM shipment_items o
                  WHERE o.shipment_id = r.shipment_id AND o.batch = r.batch
                    AND o.state IN ('waiting', 'due'))
ORDER BY r.batch, r.item_id
"""
MARK_REPORTED = """
UPDATE shipment_items SET reported = true
WHERE shipment_id = %(shipment_id)s AND item_id = ANY(%(items)s)
"""


def header(conn: psycopg.Connection[Any], shipment_id: int) -> Header | None:
    """Return the shipment's event, order and tracking, or None when it is gone."""
    with conn.cursor(row_factory=class_row(Header)) as cur:
        return cur.execute(HEADER, {"shipment_id": shipment_id}).fetchone()


def reportable(conn: psycopg.Connection[Any], shipment_id: int) -> list[Settled]:
    """Return the unreported items of the shipment's batches that are all final."""
    with conn.cursor(row_factory=class_row(Settled)) as cur:
        return cur.execute(REPORTABLE, {"shipment_id": shipment_id}).fetchall()


def mark_reported(conn: psycopg.Connection[Any], shipment_id: int, item_ids: Sequence[str]) -> None:
    """Record that the outcome events of these items are written."""
    conn.execute(MARK_REPORTED, {"shipment_id": shipment_id, "items": list(item_ids)})


@dataclass(frozen=True)
class OpenStep:
    """A step not final yet, as `rakuten-worker status` lists it."""

    integration_id: str
    order_id: str
    item_id: str
    state: str
    via: str
    item_status: str
    attempts: int
    last_error: str | None
    received_at: datetime
    next_try_at: datetime | None
    hold_until: datetime


OPEN_STEPS = """
SELECT r.integration_id, s.order_id, r.item_id, r.state, r.via, o.status AS item_status, r.attempts,
    r.last_error, s.received_at, CASE WHEN r.state = 'due' THEN r.due_at END AS next_try_at,
    s.hold_until
FROM shipment_items r JOIN shipments s ON s.id = r.shipment_id
JOIN order_items o ON o.integration_id = r.integration_id AND o.item_id = r.item_id
WHERE r.state IN ('waiting', 'due')
ORDER BY s.received_at, r.shipment_id, r.item_id
LIMIT %(limit)s
"""
OPEN_COUNTS = """
SELECT integration_id, count(*) FILTER (WHERE state = 'waiting')::int,
    count(*) FILTER (WHERE state = 'due')::int
FROM shipment_items WHERE state IN ('waiting', 'due') GROUP BY integration_id
"""


def open_steps(conn: psycopg.Connection[Any], *, limit: int) -> list[OpenStep]:
    """Return the oldest steps that are not final (waiting for acceptance, or to be told)."""
    with conn.cursor(row_factory=class_row(OpenStep)) as cur:
        return cur.execute(OPEN_STEPS, {"limit": limit}).fetchall()


def open_counts(conn: psycopg.Connection[Any]) -> dict[str, tuple[int, int]]:
    """Return, per integration, how many items wait for acceptance and how many are to be told."""
    return {row[0]: (int(row[1]), int(row[2])) for row in conn.execute(OPEN_COUNTS)}
