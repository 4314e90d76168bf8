"""The scheduler's shipment work: items that became shippable, holds that ran out, due claims.

Claims follow `db.schedule`: the lease token rises by one, the claim is counted and
the due time moves to the lease's end (doubled for each claim no worker started);
the message carries the token. A step that is waiting has no claim: it changes state
in one conditional statement, so any number of schedulers may run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from db.schedule import MAX_LEASE_DOUBLINGS

#: Rakuten statuses after which an item is never shipped (rakuten-api.md 8b)
ENDED_STATUSES = ("CANCELLED", "REFUSED", "CLOSED", "LAPSED")

# Items accepted since their shipment arrived become due, all those of one shipment
# seen in one statement as one new batch (told together, reported together).
RELEASE_ACCEPTED = """
UPDATE shipment_items r SET state = 'due', due_at = now(), updated_at = now(),
    batch = (SELECT coalesce(max(b.batch), 0) + 1 FROM shipment_items b WHERE b.shipment_id = r.shipment_id)
WHERE (r.shipment_id, r.item_id) IN (
    SELECT w.shipment_id, w.item_id FROM shipment_items w
    JOIN order_items o ON o.integration_id = w.integration_id AND o.item_id = w.item_id
    WHERE w.state = 'waiting' AND o.status = 'ACCEPTED'
    LIMIT %(limit)s FOR UPDATE OF w SKIP LOCKED)
RETURNING r.shipment_id, r.item_id
"""
# Shipments with an item that will not be told: still waiting when the hold ran out or
# the item ended (cancelled, refused...); or due for an integration that was deleted, or
# that is not verified when the hold ran out (no claim is live: its due time is past).
# Two selects, so that each reads its own partial index, not every step ever stored.
TO_SETTLE = """
SELECT r.shipment_id FROM shipment_items r
JOIN shipments s ON s.id = r.shipment_id
JOIN order_items o ON o.integration_id = r.integration_id AND o.item_id = r.item_id
WHERE r.state = 'waiting' AND (s.hold_until <= now() OR o.status = ANY(%(ended)s))
UNION
SELECT r.shipment_id FROM shipment_items r
JOIN shipments s ON s.id = r.shipment_id
JOIN integrations i ON i.integration_id = r.integration_id
WHERE r.state = 'due' AND r.due_at <= now() AND i.status <> 'verified'
  AND (i.status = 'deleted' OR s.hold_until <= now())
LIMIT %(limit)s
"""
SETTLE_WAITING = """
UPDATE shipment_items r SET state = 'failed', reason = 'not_shippable', updated_at = now(),
    detail = CASE WHEN o.status = ANY(%(ended)s) THEN 'the item is ' || o.status || ' on Rakuten'
                  ELSE 'the item was not accepted on Rakuten in time' END,
    batch = (SELECT coalesce(max(b.batch), 0) + 1 FROM shipment_items b WHERE b.shipment_id = r.shipment_id)
FROM shipments s, order_items o
WHERE r.shipment_id = %(shipment_id)s AND r.state = 'waiting' AND s.id = r.shipment_id
  AND o.integration_id = r.integration_id AND o.item_id = r.item_id
  AND (s.hold_until <= now() OR o.status = ANY(%(ended)s))
RETURNING r.item_id
"""
# The token rises: a worker whose lease ran out meanwhile records nothing.
SETTLE_UNREACHABLE = """
UPDATE shipment_items r SET state = 'failed', reason = 'rejected', updated_at = now(),
    lease_token = r.lease_token + 1,
    detail = 'the integration is ' || i.status || ': Rakuten could not be told'
FROM shipments s, integrations i
WHERE r.shipment_id = %(shipment_id)s AND r.state = 'due' AND r.due_at <= now()
  AND s.id = r.shipment_id AND i.integration_id = r.integration_id AND i.status <> 'verified'
  AND (i.status = 'deleted' OR s.hold_until <= now())
RETURNING r.item_id
"""
CLAIM_CALLS = """
UPDATE shipment_items SET lease_token = lease_token + 1, claims = claims + 1,
    due_at = now() + make_interval(secs => %(lease_s)s * 2 ^ least(claims, %(doublings)s))
WHERE (shipment_id, item_id) IN (
    SELECT r.shipment_id, r.item_id FROM shipment_items r JOIN integrations i USING (integration_id)
    WHERE r.state = 'due' AND r.via = 'call' AND r.due_at <= now() AND i.status = 'verified'
    ORDER BY r.due_at LIMIT %(limit)s FOR UPDATE OF r SKIP LOCKED)
RETURNING shipment_id, item_id, lease_token
"""
CLAIM_FILES = """
UPDATE shipment_files SET lease_token = lease_token + 1, claims = claims + 1,
    due_at = now() + make_interval(secs => %(lease_s)s * 2 ^ least(claims, %(doublings)s))
WHERE integration_id IN (
    SELECT f.integration_id FROM shipment_files f JOIN integrations i USING (integration_id)
    WHERE i.status = 'verified' AND (f.due_at IS NULL OR f.due_at <= now())
      AND EXISTS (SELECT 1 FROM shipment_items r
                  WHERE r.integration_id = f.integration_id AND r.via = 'file'
                    AND r.state = 'due' AND r.due_at <= now())
    LIMIT %(limit)s FOR UPDATE OF f SKIP LOCKED)
RETURNING integration_id, lease_token
"""
RELEASE_CALLS = """
UPDATE shipment_items SET due_at = now(), claims = greatest(claims - 1, 0)
FROM unnest(%(keys)s::bigint[], %(items)s::text[], %(tokens)s::bigint[]) AS c(k, i, t)
WHERE shipment_id = c.k AND item_id = c.i AND lease_token = c.t AND state = 'due'
"""
RELEASE_FILES = """
UPDATE shipment_files SET due_at = now(), claims = greatest(claims - 1, 0)
FROM unnest(%(keys)s::text[], %(tokens)s::bigint[]) AS c(k, t)
WHERE integration_id = c.k AND lease_token = c.t
"""


def release_accepted(conn: psycopg.Connection[Any], *, limit: int) -> list[tuple[int, str]]:
    """Make waiting items that Rakuten now shows accepted due; return (shipment, item) pairs."""
    return [(int(row[0]), row[1]) for row in conn.execute(RELEASE_ACCEPTED, {"limit": limit})]


def to_settle(conn: psycopg.Connection[Any], *, limit: int) -> list[int]:
    """Return shipments with items that will not be told to Rakuten (see `settle`)."""
    params = {"ended": list(ENDED_STATUSES), "limit": limit}
    return [int(row[0]) for row in conn.execute(TO_SETTLE, params)]


def settle(conn: psycopg.Connection[Any], shipment_id: int) -> list[str]:
    """Fail the shipment's items that will not be told; return their ids.

    Waiting items whose hold ran out or that ended fail with not_shippable (in a new
    batch); due items of an integration deleted, or not verified when the hold ran
    out, fail with rejected. Lock the shipment first (`db.shipments.lock_shipments`).
    """
    params = {"shipment_id": shipment_id, "ended": list(ENDED_STATUSES)}
    waiting = [row[0] for row in conn.execute(SETTLE_WAITING, params)]
    return waiting + [row[0] for row in conn.execute(SETTLE_UNREACHABLE, params)]


def claim_calls(conn: psycopg.Connection[Any], *, lease_s: float, limit: int) -> list[tuple[int, str, int]]:
    """Claim the due settrackingpackageinfos calls; return (shipment, item, token)."""
    params = {"lease_s": lease_s, "limit": limit, "doublings": MAX_LEASE_DOUBLINGS}
    return [(int(row[0]), row[1], int(row[2])) for row in conn.execute(CLAIM_CALLS, params)]


def claim_files(conn: psycopg.Connection[Any], *, lease_s: float, limit: int) -> list[tuple[str, int]]:
    """Claim the integrations with due shipping-file lines; return (integration, token)."""
    params = {"lease_s": lease_s, "limit": limit, "doublings": MAX_LEASE_DOUBLINGS}
    return [(row[0], int(row[1])) for row in conn.execute(CLAIM_FILES, params)]


def release_calls(conn: psycopg.Connection[Any], claimed: Sequence[tuple[int, str, int]]) -> None:
    """Make claimed calls whose message was not sent due again now (the claim does not count)."""
    if claimed:
        params = {"keys": [c[0] for c in claimed], "items": [c[1] for c in claimed],
                  "tokens": [c[2] for c in claimed]}
        conn.execute(RELEASE_CALLS, params)


def release_files(conn: psycopg.Connection[Any], claimed: Sequence[tuple[str, int]]) -> None:
    """Make claimed files whose message was not sent due again now."""
    if claimed:
        conn.execute(RELEASE_FILES, {"keys": [c[0] for c in claimed], "tokens": [c[1] for c in claimed]})
