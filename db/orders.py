"""Orders and their items (one row per Rakuten item), and the changes seen on known orders."""

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


KNOWN_ITEMS = """
SELECT order_id, item_id, status FROM order_items
WHERE integration_id = %(integration_id)s AND order_id = ANY(%(orders)s)
"""
UPDATE_STATUSES = """
UPDATE order_items o SET status = x.s, status_seen_at = now(),
    accept_state = CASE WHEN o.accept_state IN ('pending', 'failed') AND NOT x.awaiting
                        THEN CASE WHEN x.s = 'ACCEPTED' THEN 'accepted' ELSE 'none' END
                        ELSE o.accept_state END
FROM unnest(%(items)s::text[], %(statuses)s::text[], %(awaiting)s::bool[]) AS x(i, s, awaiting)
WHERE o.integration_id = %(integration_id)s AND o.item_id = x.i
"""
INSERT_CHANGES = """
INSERT INTO order_changes (integration_id, order_id, item_id, kind, old_status, new_status)
SELECT %(integration_id)s, * FROM unnest(%(orders)s::text[], %(items)s::text[], %(kinds)s::text[],
                                        %(olds)s::text[], %(news)s::text[])
"""


def record_item_changes(
    conn: psycopg.Connection[Any],
    integration_id: str,
    items: Sequence[ItemRow],
    *,
    awaiting_statuses: frozenset[str],
) -> int:
    """Compare items of known orders with what is stored; record what was added or changed.

    New items are inserted; a changed status is updated. Each change becomes an
    `order_changes` row for the capability that publishes order changes.
    An item no longer awaiting acceptance ends its pending acceptance.
    Returns the number of changes recorded.
    """
    if not items:
        return 0
    params = {"integration_id": integration_id, "orders": list({i.order_id for i in items})}
    known = {row[1]: row[2] for row in conn.execute(KNOWN_ITEMS, params)}
    added = [i for i in items if i.item_id not in known]
    changed = [i for i in items if i.item_id in known and known[i.item_id] != i.status]
    insert_items(conn, integration_id, added)
    if changed:
        conn.execute(
            UPDATE_STATUSES,
            {
                "integration_id": integration_id,
                "items": [i.item_id for i in changed],
                "statuses": [i.status for i in changed],
                "awaiting": [i.status in awaiting_statuses for i in changed],
            },
        )
    changes = [(i, "item_added", None) for i in added] + [
        (i, "item_status_changed", known[i.item_id]) for i in changed
    ]
    if changes:
        conn.execute(
            INSERT_CHANGES,
            {
                "integration_id": integration_id,
                "orders": [i.order_id for i, _, _ in changes],
                "items": [i.item_id for i, _, _ in changes],
                "kinds": [k for _, k, _ in changes],
                "olds": [old for _, _, old in changes],
                "news": [i.status for i, _, _ in changes],
            },
        )
    return len(changes)


GET_ITEM = """
SELECT o.item_id, o.status, o.accept_state, o.accept_attempts FROM order_items o
WHERE o.integration_id = %(integration_id)s AND o.item_id = %(item_id)s
FOR UPDATE
"""
SET_ACCEPT = """
UPDATE order_items SET accept_state = %(state)s, accept_error = %(error)s,
    accept_attempts = accept_attempts + %(attempted)s::int,
    accept_due_at = CASE WHEN %(retry_in_s)s::float8 IS NULL THEN NULL
                         ELSE now() + make_interval(secs => %(retry_in_s)s) END,
    status = coalesce(%(status)s, status)
WHERE integration_id = %(integration_id)s AND item_id = %(item_id)s
"""


@dataclass(frozen=True)
class AcceptState:
    """Where the automatic acceptance of one item stands."""

    item_id: str
    status: str
    accept_state: str
    accept_attempts: int


def get_accept_state(conn: psycopg.Connection[Any], integration_id: str, item_id: str) -> AcceptState | None:
    """Return the item's acceptance state, locking the row for the transaction."""
    row = conn.execute(GET_ITEM, {"integration_id": integration_id, "item_id": item_id}).fetchone()
    return AcceptState(row[0], row[1], row[2], int(row[3])) if row else None


def set_accept_state(
    conn: psycopg.Connection[Any],
    integration_id: str,
    item_id: str,
    *,
    state: str,
    attempted: bool,
    retry_in_s: float | None = None,
    error: str | None = None,
    status: str | None = None,
) -> None:
    """Record the outcome of an acceptance attempt (and the item's new status, if known)."""
    conn.execute(
        SET_ACCEPT,
        {
            "integration_id": integration_id,
            "item_id": item_id,
            "state": state,
            "attempted": int(attempted),
            "retry_in_s": retry_in_s,
            "error": error,
            "status": status,
        },
    )
