"""Stored tokens, read and replaced in batches (key rotation).

A replacement is a compare-and-set on the encrypted value: a token that an
update changed after it was read is left alone, never overwritten by the
re-encrypted old one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

BATCH_AFTER = """
SELECT integration_id, token_encrypted FROM integrations
WHERE token_encrypted IS NOT NULL AND integration_id > %(after)s
ORDER BY integration_id
LIMIT %(limit)s
"""
GET_ONE = """
SELECT integration_id, token_encrypted FROM integrations
WHERE integration_id = %(id)s AND token_encrypted IS NOT NULL
"""
REPLACE = """
UPDATE integrations i SET token_encrypted = x.new
FROM unnest(%(ids)s::text[], %(olds)s::bytea[], %(news)s::bytea[]) AS x(id, old, new)
WHERE i.integration_id = x.id AND i.token_encrypted = x.old
RETURNING i.integration_id
"""


def batch_after(conn: psycopg.Connection[Any], after: str, *, limit: int) -> list[tuple[str, bytes]]:
    """Return up to `limit` (integration id, encrypted token) pairs after `after`, by id."""
    rows = conn.execute(BATCH_AFTER, {"after": after, "limit": limit})
    return [(row[0], bytes(row[1])) for row in rows]


def get_one(conn: psycopg.Connection[Any], integration_id: str) -> tuple[str, bytes] | None:
    """Return the integration's encrypted token, or None when it has none (deleted)."""
    row = conn.execute(GET_ONE, {"id": integration_id}).fetchone()
    return (row[0], bytes(row[1])) if row else None


def replace(conn: psycopg.Connection[Any], changes: Sequence[tuple[str, bytes, bytes]]) -> set[str]:
    """Store (integration id, old, new) tokens whose stored value is still `old`; return those stored."""
    if not changes:
        return set()
    rows = conn.execute(
        REPLACE,
        {
            "ids": [c[0] for c in changes],
            "olds": [c[1] for c in changes],
            "news": [c[2] for c in changes],
        },
    )
    return {row[0] for row in rows}
