"""Rakuten's to-do list as last read: each item's causes and how often they changed.

The read is a fenced claim on the integration's row (`db.schedule.claim_todo_reads`
raises `todo_lease_token`; `db.leases.TODO` starts and checks it): the causes are
recorded, and the next read scheduled (`finish`), only while the token is current.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

# A failed read is tried again sooner than the interval (from the retry base, doubling
# per failure in a row), never later than it.
FINISH = """
UPDATE integrations SET
    todo_due_at = now() + make_interval(secs => CASE WHEN %(ok)s THEN %(interval_s)s
        ELSE least(%(interval_s)s, %(retry_base_s)s * 2 ^ least(todo_failures, 10)) END),
    todo_failures = CASE WHEN %(ok)s THEN 0 ELSE todo_failures + 1 END
WHERE integration_id = %(integration_id)s AND todo_lease_token = %(token)s
"""
STORED = """
SELECT item_id, causes, changes, order_id FROM item_attention
WHERE integration_id = %(integration_id)s AND (causes <> '{}' OR item_id = ANY(%(items)s))
"""
ORDERS_OF = """
SELECT item_id, order_id FROM order_items
WHERE integration_id = %(integration_id)s AND item_id = ANY(%(items)s)
"""
UPSERT = """
INSERT INTO item_attention (integration_id, item_id, order_id, causes, changes)
SELECT %(integration_id)s, i, o, string_to_array(c, ','), n
FROM unnest(%(items)s::text[], %(orders)s::text[], %(causes)s::text[], %(changes)s::int[]) AS x(i, o, c, n)
ON CONFLICT (integration_id, item_id) DO UPDATE SET causes = EXCLUDED.causes, changes = EXCLUDED.changes,
    order_id = coalesce(EXCLUDED.order_id, item_attention.order_id), changed_at = now()
"""


@dataclass(frozen=True)
class Attention:
    """An item's causes on the to-do list (sorted; empty once it left), the `changes`-th change."""

    item_id: str
    order_id: str | None
    causes: tuple[str, ...]
    changes: int


def _key(integration_id: str, token: int, **extra: object) -> dict[str, object]:
    return {"integration_id": integration_id, "token": token, **extra}


def finish(
    conn: psycopg.Connection[Any],
    integration_id: str,
    token: int,
    *,
    ok: bool,
    interval_s: float,
    retry_base_s: float,
) -> None:
    """Schedule the next read: `interval_s` on, or sooner after a failure."""
    conn.execute(
        FINISH, _key(integration_id, token, ok=ok, interval_s=interval_s, retry_base_s=retry_base_s)
    )


def stored(conn: psycopg.Connection[Any], integration_id: str, listed: Sequence[str]) -> dict[str, Attention]:
    """The last causes of the items listed now and of every item that still had some."""
    params = {"integration_id": integration_id, "items": list(listed)}
    return {
        row[0]: Attention(row[0], row[3], tuple(row[1]), int(row[2])) for row in conn.execute(STORED, params)
    }


def orders_of(conn: psycopg.Connection[Any], integration_id: str, item_ids: Sequence[str]) -> dict[str, str]:
    """The order of each of these items that this service imported."""
    params = {"integration_id": integration_id, "items": list(item_ids)}
    return {row[0]: row[1] for row in conn.execute(ORDERS_OF, params)}


def store(conn: psycopg.Connection[Any], integration_id: str, changed: Sequence[Attention]) -> None:
    """Record the items' new causes and change counts."""
    if not changed:
        return
    conn.execute(
        UPSERT,
        {
            "integration_id": integration_id,
            "items": [a.item_id for a in changed],
            "orders": [a.order_id for a in changed],
            "causes": [",".join(a.causes) for a in changed],
            "changes": [a.changes for a in changed],
        },
    )
