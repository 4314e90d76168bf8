"""Known orders as they change: their items' stored statuses, and the changes recorded.

`orders.data` is the order as last published and `order_items.status` each item's
status as last published, so comparing what Rakuten shows with them tells what the
platform has not heard yet. Every writer of a known order's items takes the order's
row lock first (`lock_order`), then compares and writes: the poll, the merchant's
refusals and cancellations and the automatic acceptance never record one change twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

KNOWN_STATUSES = """
SELECT order_id, item_id, status FROM order_items
WHERE integration_id = %(integration_id)s AND order_id = ANY(%(orders)s)
"""
LOCK_ORDER = """
SELECT data FROM orders WHERE integration_id = %(integration_id)s AND order_id = %(order_id)s
FOR UPDATE
"""
LOCK_ITEMS = """
SELECT item_id, status FROM order_items
WHERE integration_id = %(integration_id)s AND order_id = %(order_id)s
ORDER BY item_id
FOR UPDATE
"""
# An item no longer awaiting acceptance ends its automatic acceptance: accepted when
# Rakuten shows it accepted, else there is nothing left to accept.
UPDATE_STATUSES = """
UPDATE order_items o SET status = x.s, status_seen_at = now(),
    accept_state = CASE WHEN o.accept_state IN ('pending', 'failed') AND NOT x.awaiting
                        THEN CASE WHEN x.s = 'ACCEPTED' THEN 'accepted' ELSE 'none' END
                        ELSE o.accept_state END
FROM unnest(%(items)s::text[], %(statuses)s::text[], %(awaiting)s::bool[]) AS x(i, s, awaiting)
WHERE o.integration_id = %(integration_id)s AND o.item_id = x.i
"""
INSERT_CHANGES = """
INSERT INTO order_changes (integration_id, order_id, item_id, kind, old_status, new_status, reason,
    event_id, published_at)
SELECT %(integration_id)s, %(order_id)s, i, k, o, n, r, %(event_id)s, now()
FROM unnest(%(items)s::text[], %(kinds)s::text[], %(olds)s::text[], %(news)s::text[], %(reasons)s::text[])
    AS x(i, k, o, n, r)
"""
UPDATE_ORDER = """
UPDATE orders SET data = %(data)s, status = %(status)s
WHERE integration_id = %(integration_id)s AND order_id = %(order_id)s
"""
AWAITING_ITEMS = """
SELECT i.order_id, i.item_id, o.ordered_at FROM order_items i
JOIN orders o USING (integration_id, order_id)
WHERE i.integration_id = %(integration_id)s AND i.status = ANY(%(statuses)s)
"""


@dataclass(frozen=True)
class RecordedChange:
    """One item's change as recorded: `old_status` is None for an added item."""

    item_id: str
    old_status: str | None
    new_status: str
    reason: str | None = None


@dataclass(frozen=True)
class AwaitingItem:
    """An item stored as awaiting the seller's acceptance, with its order's date."""

    order_id: str
    item_id: str
    ordered_at: datetime


def known_statuses(
    conn: psycopg.Connection[Any], integration_id: str, order_ids: Sequence[str]
) -> dict[str, dict[str, str]]:
    """Return the stored status of every item of these orders: {order id: {item id: status}}.

    Orders absent from the answer are not known (an order is stored with its items).
    """
    known: dict[str, dict[str, str]] = {}
    params = {"integration_id": integration_id, "orders": list(order_ids)}
    for order_id, item_id, status in conn.execute(KNOWN_STATUSES, params):
        known.setdefault(order_id, {})[item_id] = status
    return known


def lock_order(
    conn: psycopg.Connection[Any], integration_id: str, order_id: str
) -> tuple[dict[str, Any], dict[str, str]] | None:
    """Lock a known order and its items; return its published data and its items' statuses.

    None when the order is not known. The locks last until the transaction ends.
    """
    params = {"integration_id": integration_id, "order_id": order_id}
    row = conn.execute(LOCK_ORDER, params).fetchone()
    if row is None:
        return None
    statuses = {item_id: status for item_id, status in conn.execute(LOCK_ITEMS, params)}
    return dict(row[0]), statuses


def record_changes(
    conn: psycopg.Connection[Any],
    integration_id: str,
    order_id: str,
    changes: Sequence[RecordedChange],
    *,
    event_id: str,
    awaiting_statuses: Iterable[str],
) -> None:
    """Apply the changed statuses of items already stored and record every change.

    Added items are inserted by the caller (`orders.insert_items`) before this.
    """
    awaiting = frozenset(awaiting_statuses)
    changed = [c for c in changes if c.old_status is not None]
    if changed:
        conn.execute(
            UPDATE_STATUSES,
            {
                "integration_id": integration_id,
                "items": [c.item_id for c in changed],
                "statuses": [c.new_status for c in changed],
                "awaiting": [c.new_status in awaiting for c in changed],
            },
        )
    conn.execute(
        INSERT_CHANGES,
        {
            "integration_id": integration_id,
            "order_id": order_id,
            "event_id": event_id,
            "items": [c.item_id for c in changes],
            "kinds": ["item_added" if c.old_status is None else "item_status_changed" for c in changes],
            "olds": [c.old_status for c in changes],
            "news": [c.new_status for c in changes],
            "reasons": [c.reason for c in changes],
        },
    )


def update_order(
    conn: psycopg.Connection[Any], integration_id: str, order_id: str, data: Mapping[str, Any]
) -> None:
    """Store the order as now published (its data and its `new`/`accepted` status)."""
    conn.execute(
        UPDATE_ORDER,
        {
            "integration_id": integration_id,
            "order_id": order_id,
            "data": Jsonb(dict(data)),
            "status": data["status"],
        },
    )


def awaiting_items(
    conn: psycopg.Connection[Any], integration_id: str, statuses: Iterable[str]
) -> list[AwaitingItem]:
    """Return the items stored with one of `statuses` (awaiting acceptance), with their order's date."""
    params = {"integration_id": integration_id, "statuses": sorted(statuses)}
    return [AwaitingItem(*row) for row in conn.execute(AWAITING_ITEMS, params)]
