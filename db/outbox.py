"""The transactional outbox: events written with the fact they report, published later."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

INSERT = """
INSERT INTO outbox (event_id, event_type, body)
VALUES (%(event_id)s, %(event_type)s, %(body)s)
ON CONFLICT (event_id) DO NOTHING
"""
CLAIM_UNSENT = """
SELECT id, body::text FROM outbox
WHERE sent_at IS NULL
ORDER BY id
LIMIT %(limit)s
FOR UPDATE SKIP LOCKED
"""
MARK_SENT = "UPDATE outbox SET sent_at = now() WHERE id = ANY(%(ids)s)"
BACKLOG = """
SELECT count(*), extract(epoch FROM now() - min(created_at)) FROM outbox WHERE sent_at IS NULL
"""
# One statement for a whole batch, rows numbered in the order given. The bodies go
# as a binary array (`%(bodies)b`): in the text format psycopg escapes every quote
# of every document in Python, which costs more than the insert itself.
INSERT_MANY = """
INSERT INTO outbox (event_id, event_type, body)
SELECT i, t, b FROM unnest(%(ids)s::text[], %(types)s::text[], %(bodies)b::jsonb[])
    WITH ORDINALITY AS x(i, t, b, n)
ORDER BY n
ON CONFLICT (event_id) DO NOTHING
"""


def add_event(conn: psycopg.Connection[Any], event: Mapping[str, Any]) -> bool:
    """Write one CloudEvent (a dict with `id` and `type`) to the outbox.

    The id is deterministic for the fact, so writing the same event twice keeps
    one row; returns whether a row was added.
    """
    cur = conn.execute(
        INSERT, {"event_id": event["id"], "event_type": event["type"], "body": Jsonb(dict(event))}
    )
    return cur.rowcount == 1


def claim_unsent(conn: psycopg.Connection[Any], *, limit: int) -> list[tuple[int, str]]:
    """Lock up to `limit` unsent rows, oldest first; return (row id, JSON text) pairs.

    Call it inside a transaction; other relays skip the locked rows.
    """
    return [(row[0], row[1]) for row in conn.execute(CLAIM_UNSENT, {"limit": limit})]


def mark_sent(conn: psycopg.Connection[Any], ids: Sequence[int]) -> None:
    """Mark rows as published (after the broker confirmed them)."""
    conn.execute(MARK_SENT, {"ids": list(ids)})


def backlog(conn: psycopg.Connection[Any]) -> tuple[int, float | None]:
    """Return the number of unsent events and the age in seconds of the oldest."""
    row = conn.execute(BACKLOG).fetchone()
    assert row is not None
    return int(row[0]), (float(row[1]) if row[1] is not None else None)


def add_events(conn: psycopg.Connection[Any], events: Sequence[Mapping[str, Any]]) -> None:
    """Write several CloudEvents to the outbox in one statement (duplicates are skipped)."""
    if events:
        conn.execute(
            INSERT_MANY,
            {
                "ids": [e["id"] for e in events],
                "types": [e["type"] for e in events],
                "bodies": [Jsonb(dict(e)) for e in events],
            },
        )
