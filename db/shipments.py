"""Shipments and their steps: one row per `order.shipped` applied, one per item to tell Rakuten.

The intake (`lock_order`, `covered_items`, `insert_shipment`, `insert_steps`) runs in
the ingress's transaction; the workers read a step (`get_step`, `file_steps`),
record its outcome (`set_outcome`, fenced by the caller) and report the batches whose
items are all final (`reportable`, `mark_reported`) in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row

from db import leases

#: the lease of one item's settrackingpackageinfos call (see `db.leases`)
SHIP = leases.Work("ship", "shipment_items", ("shipment_id", "item_id"), "lease_token", "due_at", "claims")
#: the lease of an integration's importitemshippingstatus file
SHIP_FILE = leases.Work("ship_file", "shipment_files", ("integration_id",), "lease_token", "due_at", "claims")
#: the states in which a step still has something to do
OPEN_STATES = ("waiting", "due")

LOCK_ORDER = """
SELECT account_id FROM orders WHERE integration_id = %(integration_id)s AND order_id = %(order_id)s
FOR UPDATE
"""
ORDER_ITEMS = """
SELECT item_id, status FROM order_items
WHERE integration_id = %(integration_id)s AND order_id = %(order_id)s ORDER BY item_id
"""
# An item is covered by an earlier shipment of the same tracking number that has not
# failed: telling Rakuten again would only repeat it.
COVERED = """
SELECT DISTINCT r.item_id FROM shipment_items r JOIN shipments s ON s.id = r.shipment_id
WHERE r.integration_id = %(integration_id)s AND r.item_id = ANY(%(items)s) AND r.state <> 'failed'
  AND s.tracking_number IS NOT DISTINCT FROM %(tracking_number)s
"""
INSERT_SHIPMENT = """
INSERT INTO shipments (event_id, integration_id, account_id, order_id, carrier, transporter,
    tracking_number, tracking_url, shipped_at, hold_until)
VALUES (%(event_id)s, %(integration_id)s, %(account_id)s, %(order_id)s, %(carrier)s, %(transporter)s,
    %(tracking_number)s, %(tracking_url)s, %(shipped_at)s, now() + make_interval(secs => %(hold_s)s))
ON CONFLICT (event_id) DO NOTHING
RETURNING id
"""
INSERT_STEPS = """
INSERT INTO shipment_items (shipment_id, item_id, integration_id, state, via, batch, due_at,
    reason, detail, reported)
SELECT %(shipment_id)s, i, %(integration_id)s, s, %(via)s, b, CASE WHEN s = 'due' THEN now() END,
    r, d, s = 'failed'
FROM unnest(%(items)s::text[], %(states)s::text[], %(batches)s::int[], %(reasons)s::text[],
            %(details)s::text[]) AS x(i, s, b, r, d)
"""
ENSURE_FILE = """
INSERT INTO shipment_files (integration_id) VALUES (%(integration_id)s) ON CONFLICT DO NOTHING
"""


@dataclass(frozen=True)
class NewShipment:
    """An `order.shipped` to store: the event, the order and what to tell Rakuten."""

    event_id: str
    integration_id: str
    account_id: str
    order_id: str
    carrier: str
    transporter: str
    tracking_number: str | None
    tracking_url: str | None
    shipped_at: datetime | None


@dataclass(frozen=True)
class NewStep:
    """One item of a new shipment: its first state, batch, and the reason when it failed at once."""

    item_id: str
    state: str
    batch: int | None = None
    reason: str | None = None
    detail: str | None = None


def lock_order(conn: psycopg.Connection[Any], integration_id: str, order_id: str) -> bool:
    """Lock the order for the transaction; return whether it was imported for the integration.

    Shipments of one order are applied one at a time, so a second copy of an event
    sees the steps of the first.
    """
    params = {"integration_id": integration_id, "order_id": order_id}
    return conn.execute(LOCK_ORDER, params).fetchone() is not None


def order_items(conn: psycopg.Connection[Any], integration_id: str, order_id: str) -> dict[str, str]:
    """Return the order's items and their Rakuten statuses, by item id."""
    params = {"integration_id": integration_id, "order_id": order_id}
    return {row[0]: row[1] for row in conn.execute(ORDER_ITEMS, params)}


def covered_items(
    conn: psycopg.Connection[Any], integration_id: str, items: Sequence[str], tracking_number: str | None
) -> set[str]:
    """Return the items an earlier shipment with this tracking number tells (or told) Rakuten."""
    params = {"integration_id": integration_id, "items": list(items), "tracking_number": tracking_number}
    return {row[0] for row in conn.execute(COVERED, params)}


def insert_shipment(
    conn: psycopg.Connection[Any], shipment: NewShipment, steps: Sequence[NewStep], *, hold_s: float
) -> int | None:
    """Store the shipment and its steps; return its id (None when the event was stored before).

    Steps that failed at once are stored as reported: their event is written by the caller.
    """
    params = {**shipment.__dict__, "hold_s": hold_s}
    row = conn.execute(INSERT_SHIPMENT, params).fetchone()
    if row is None:
        return None
    via = "call" if shipment.tracking_number else "file"
    conn.execute(
        INSERT_STEPS,
        {
            "shipment_id": row[0],
            "integration_id": shipment.integration_id,
            "via": via,
            "items": [s.item_id for s in steps],
            "states": [s.state for s in steps],
            "batches": [s.batch for s in steps],
            "reasons": [s.reason for s in steps],
            "details": [s.detail for s in steps],
        },
    )
    if via == "file" and any(s.state in OPEN_STATES for s in steps):
        conn.execute(ENSURE_FILE, {"integration_id": shipment.integration_id})
    return int(row[0])


@dataclass(frozen=True)
class Step:
    """One item of a shipment as a worker sees it, with its shipment and its Rakuten status."""

    shipment_id: int
    item_id: str
    integration_id: str
    account_id: str
    order_id: str
    state: str
    via: str
    attempts: int
    transporter: str
    tracking_number: str | None
    tracking_url: str | None
    past_hold: bool  #: the shipment's hold is over: no more waiting or retrying
    item_status: str  #: the item's status on Rakuten, as the last poll or acceptance saw it


STEP_COLUMNS = """
SELECT r.shipment_id, r.item_id, r.integration_id, s.account_id, s.order_id, r.state, r.via,
    r.attempts, s.transporter, s.tracking_number, s.tracking_url, s.hold_until <= now() AS past_hold,
    o.status AS item_status
FROM shipment_items r JOIN shipments s ON s.id = r.shipment_id
JOIN order_items o ON o.integration_id = r.integration_id AND o.item_id = r.item_id
"""
GET_STEP = STEP_COLUMNS + "WHERE r.shipment_id = %(shipment_id)s AND r.item_id = %(item_id)s"
FILE_STEPS = STEP_COLUMNS + """WHERE r.integration_id = %(integration_id)s AND r.via = 'file'
  AND r.state = 'due' AND r.due_at <= now()
ORDER BY r.due_at, r.shipment_id, r.item_id LIMIT %(limit)s"""


def get_step(conn: psycopg.Connection[Any], shipment_id: int, item_id: str) -> Step | None:
    """Return one step with its shipment, or None when there is no such step."""
    with conn.cursor(row_factory=class_row(Step)) as cur:
        return cur.execute(GET_STEP, {"shipment_id": shipment_id, "item_id": item_id}).fetchone()


def file_steps(conn: psycopg.Connection[Any], integration_id: str, *, limit: int) -> list[Step]:
    """Return the integration's due file lines (items without a tracking number), oldest first."""
    with conn.cursor(row_factory=class_row(Step)) as cur:
        return cur.execute(FILE_STEPS, {"integration_id": integration_id, "limit": limit}).fetchall()


LOCK_SHIPMENTS = "SELECT id FROM shipments WHERE id = ANY(%(ids)s::bigint[]) ORDER BY id FOR UPDATE"
SET_OUTCOME = """
UPDATE shipment_items SET state = %(state)s, reason = %(reason)s, detail = %(detail)s,
    last_error = coalesce(%(error)s, last_error), attempts = attempts + %(attempted)s::int,
    due_at = CASE WHEN %(state)s = 'due' THEN now() + make_interval(secs => %(retry_in_s)s) END,
    updated_at = now()
WHERE shipment_id = %(shipment_id)s AND item_id = %(item_id)s AND state = 'due'
"""


@dataclass(frozen=True)
class Outcome:
    """What became of one attempt to tell Rakuten about an item."""

    state: str  #: confirmed, failed, or due (to be tried again in `retry_in_s`)
    reason: str | None = None
    detail: str | None = None
    error: str | None = None  #: what failed, for the status command (no Rakuten text)
    attempted: bool = True
    retry_in_s: float | None = None


def lock_shipments(conn: psycopg.Connection[Any], shipment_ids: Sequence[int]) -> None:
    """Lock shipments (in id order) for the transaction, before their steps change.

    The last step of a batch to become final then sees every other one final.
    """
    conn.execute(LOCK_SHIPMENTS, {"ids": sorted(set(shipment_ids))})


def set_outcome(conn: psycopg.Connection[Any], shipment_id: int, item_id: str, outcome: Outcome) -> bool:
    """Record an attempt's outcome on a step still due; return whether it was."""
    if outcome.state == "due" and outcome.retry_in_s is None:
        raise ValueError("a step due again needs retry_in_s")
    params = {**outcome.__dict__, "attempted": int(outcome.attempted)}
    cur = conn.execute(SET_OUTCOME, {**params, "shipment_id": shipment_id, "item_id": item_id})
    return cur.rowcount == 1


FINISH_FILE = """
UPDATE shipment_files SET due_at = NULL,
    last_file_at = CASE WHEN %(sent)s THEN now() ELSE last_file_at END
WHERE integration_id = %(integration_id)s AND lease_token = %(token)s
"""


def finish_file(conn: psycopg.Connection[Any], integration_id: str, token: int, *, sent: bool) -> None:
    """End the claim of the integration's file: the next due lines may go at once."""
    conn.execute(FINISH_FILE, {"integration_id": integration_id, "token": token, "sent": sent})
