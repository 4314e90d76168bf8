"""Orders and their items (one row per Rakuten item); their later changes are in `db.order_life`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb


@dataclass(frozen=True)
class ItemRow:
    """One Rakuten item (one unit) of an order."""

    order_id: str
    item_id: str
    sku: str | None
    status: str
    payment_status: str | None
    is_nego: bool
    to_accept: bool = False  # whether the seller wants it accepted automatically


@dataclass(frozen=True)
class OrderRow:
    """An order to store, with the data published in `order.imported`."""

    order_id: str
    ordered_at: datetime
    status: str
    data: Mapping[str, Any]
    items: Sequence[ItemRow]


# `%(datas)b` sends the JSON documents as a binary array: in the text format
# psycopg escapes every quote of every document in Python (a regex callback per
# character), which took most of an order import's database time.
INSERT_ORDERS = """
INSERT INTO orders (integration_id, order_id, account_id, ordered_at, status, data)
SELECT %(integration_id)s, o, %(account_id)s, t, s, d
FROM unnest(%(ids)s::text[], %(times)s::timestamptz[], %(statuses)s::text[], %(datas)b::jsonb[])
    AS x(o, t, s, d)
ON CONFLICT (integration_id, order_id) DO NOTHING
RETURNING order_id
"""
INSERT_ITEMS = """
INSERT INTO order_items (integration_id, order_id, item_id, sku, status, payment_status, is_nego,
    accept_state, accept_due_at)
SELECT %(integration_id)s, o, i, k, s, p, n,
    CASE WHEN a THEN 'pending' ELSE 'none' END, CASE WHEN a THEN now() END
FROM unnest(%(orders)s::text[], %(items)s::text[], %(skus)s::text[], %(statuses)s::text[],
            %(payments)s::text[], %(negos)s::bool[], %(accepts)s::bool[]) AS x(o, i, k, s, p, n, a)
ON CONFLICT (integration_id, item_id) DO NOTHING
RETURNING order_id, item_id
"""


def insert_new_orders(
    conn: psycopg.Connection[Any], integration_id: str, account_id: str, orders: Sequence[OrderRow]
) -> set[str]:
    """Insert the orders not yet known, with their items; return the ids actually inserted.

    The primary key (integration, purchase id) makes a concurrent or repeated
    import of the same order insert nothing.
    """
    if not orders:
        return set()
    rows = conn.execute(
        INSERT_ORDERS,
        {
            "integration_id": integration_id,
            "account_id": account_id,
            "ids": [o.order_id for o in orders],
            "times": [o.ordered_at for o in orders],
            "statuses": [o.status for o in orders],
            "datas": [Jsonb(dict(o.data)) for o in orders],
        },
    ).fetchall()
    inserted = {row[0] for row in rows}
    insert_items(conn, integration_id, [i for o in orders if o.order_id in inserted for i in o.items])
    return inserted


def insert_items(conn: psycopg.Connection[Any], integration_id: str, items: Sequence[ItemRow]) -> set[str]:
    """Insert items (skipping known item ids); return the item ids inserted."""
    if not items:
        return set()
    rows = conn.execute(
        INSERT_ITEMS,
        {
            "integration_id": integration_id,
            "orders": [i.order_id for i in items],
            "items": [i.item_id for i in items],
            "skus": [i.sku for i in items],
            "statuses": [i.status for i in items],
            "payments": [i.payment_status for i in items],
            "negos": [i.is_nego for i in items],
            "accepts": [i.to_accept for i in items],
        },
    ).fetchall()
    return {row[1] for row in rows}


GET_ITEM = """
SELECT o.order_id, o.item_id, o.status, o.accept_state, o.accept_attempts FROM order_items o
WHERE o.integration_id = %(integration_id)s AND o.item_id = %(item_id)s
"""
# The acceptance and a refusal asked for at the same time are decided here, under
# the item's row lock: an acceptance starts only while no cancellation was asked
# (order.cancel_requested sets cancel_requested_at under the same lock), and once
# started it is marked so that the refusal waits for its outcome.
BEGIN_ACCEPT = """
UPDATE order_items SET accept_started_at = now()
WHERE integration_id = %(integration_id)s AND item_id = %(item_id)s
  AND accept_state = 'pending' AND cancel_requested_at IS NULL
RETURNING order_id, item_id, status, accept_state, accept_attempts
"""
WITHDRAW_ACCEPT = """
UPDATE order_items SET accept_state = 'none', accept_due_at = NULL
WHERE integration_id = %(integration_id)s AND item_id = %(item_id)s
  AND accept_state = 'pending' AND cancel_requested_at IS NOT NULL
"""
SET_ACCEPT = """
UPDATE order_items SET accept_state = %(state)s, accept_error = %(error)s,
    accept_attempts = accept_attempts + %(attempted)s::int,
    accept_due_at = CASE WHEN %(retry_in_s)s::float8 IS NULL THEN NULL
                         ELSE now() + make_interval(secs => %(retry_in_s)s) END,
    accept_started_at = NULL
WHERE integration_id = %(integration_id)s AND item_id = %(item_id)s
"""


@dataclass(frozen=True)
class AcceptState:
    """Where the automatic acceptance of one item stands."""

    order_id: str
    item_id: str
    status: str
    accept_state: str
    accept_attempts: int


def get_accept_state(conn: psycopg.Connection[Any], integration_id: str, item_id: str) -> AcceptState | None:
    """Return the item's acceptance state."""
    row = conn.execute(GET_ITEM, {"integration_id": integration_id, "item_id": item_id}).fetchone()
    return AcceptState(row[0], row[1], row[2], row[3], int(row[4])) if row else None


def begin_acceptance(conn: psycopg.Connection[Any], integration_id: str, item_id: str) -> AcceptState | None:
    """Mark the item's acceptance as under way; None when it is not to be accepted (any more).

    An item whose cancellation was asked for is never accepted after that. Commit
    before calling Rakuten.
    """
    row = conn.execute(BEGIN_ACCEPT, {"integration_id": integration_id, "item_id": item_id}).fetchone()
    return AcceptState(row[0], row[1], row[2], row[3], int(row[4])) if row else None


def withdraw_acceptance(conn: psycopg.Connection[Any], integration_id: str, item_id: str) -> None:
    """End a pending acceptance of an item whose cancellation was asked for (a retry left it due)."""
    conn.execute(WITHDRAW_ACCEPT, {"integration_id": integration_id, "item_id": item_id})


def set_accept_state(
    conn: psycopg.Connection[Any],
    integration_id: str,
    item_id: str,
    *,
    state: str,
    attempted: bool,
    retry_in_s: float | None = None,
    error: str | None = None,
) -> None:
    """Record the outcome of an acceptance attempt; it is no longer under way.

    The item's status changes through `workers.order_changes`, which publishes it.
    """
    conn.execute(
        SET_ACCEPT,
        {
            "integration_id": integration_id,
            "item_id": item_id,
            "state": state,
            "attempted": int(attempted),
            "retry_in_s": retry_in_s,
            "error": error,
        },
    )
