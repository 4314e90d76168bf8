"""Pruning by age, one small batch per statement (DESIGN invariant 11).

Each statement deletes at most `limit` rows chosen through an index and skips
rows another transaction holds (`SKIP LOCKED`): run in autocommit, every batch
is its own short transaction, so pruning never holds locks for long nor waits
on the work it runs beside.
"""

from __future__ import annotations

from typing import Any

import psycopg

_INBOX = """
DELETE FROM inbox WHERE event_id IN (
    SELECT event_id FROM inbox WHERE processed_at < now() - make_interval(secs => %(keep_s)s)
    LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
"""
_OUTBOX = """
DELETE FROM outbox WHERE id IN (
    SELECT id FROM outbox WHERE sent_at < now() - make_interval(secs => %(keep_s)s)
    LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
"""
# The lines go first, so deleting an import row never cascades to thousands of lines.
_IMPORT_LINES = """
DELETE FROM stock_import_lines WHERE (import_pk, sku) IN (
    SELECT l.import_pk, l.sku FROM stock_imports m JOIN stock_import_lines l ON l.import_pk = m.id
    WHERE m.finished_at < now() - make_interval(secs => %(keep_s)s)
    LIMIT %(limit)s FOR UPDATE OF l SKIP LOCKED)
"""
_IMPORTS = """
DELETE FROM stock_imports WHERE id IN (
    SELECT m.id FROM stock_imports m
    WHERE m.finished_at < now() - make_interval(secs => %(keep_s)s)
      AND NOT EXISTS (SELECT 1 FROM stock_import_lines l WHERE l.import_pk = m.id)
    LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
"""
_ORDER_CHANGES = """
DELETE FROM order_changes WHERE id IN (
    SELECT id FROM order_changes WHERE detected_at < now() - make_interval(secs => %(keep_s)s)
    LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
"""
_HEARTBEATS = """
DELETE FROM scheduler_heartbeats WHERE scheduler_id IN (
    SELECT scheduler_id FROM scheduler_heartbeats
    WHERE ticked_at < now() - make_interval(secs => %(keep_s)s)
    LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
"""

#: what can be pruned -> its statement; the retention setting of each is the caller's
PRUNE = {
    "inbox": _INBOX,
    "outbox": _OUTBOX,
    "stock_import_lines": _IMPORT_LINES,
    "stock_imports": _IMPORTS,
    "order_changes": _ORDER_CHANGES,
    "scheduler_heartbeats": _HEARTBEATS,
}


def prune_batch(conn: psycopg.Connection[Any], what: str, *, keep_s: float, limit: int) -> int:
    """Delete up to `limit` rows of `what` older than `keep_s` seconds; return how many."""
    return conn.execute(PRUNE[what], {"keep_s": keep_s, "limit": limit}).rowcount
