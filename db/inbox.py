"""The inbox: ids of inbound events already applied, for deduplication."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

# Binary arrays (`%(ids)b`): the text format escapes every id in Python.
INSERT_NEW = """
INSERT INTO inbox (event_id, event_type)
SELECT * FROM unnest(%(ids)b::text[], %(types)b::text[])
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id
"""


def record_new(conn: psycopg.Connection[Any], events: Sequence[tuple[str, str]]) -> set[str]:
    """Record (event id, type) pairs; return the ids that were not seen before.

    Run it in the transaction that applies the events, so an event is marked
    processed exactly when its effects commit.
    """
    if not events:
        return set()
    ids = [e[0] for e in events]
    types = [e[1] for e in events]
    return {row[0] for row in conn.execute(INSERT_NEW, {"ids": ids, "types": types})}
