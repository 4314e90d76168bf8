"""Erasing a deleted integration's orders and buyers' data, in small batches.

Buyers' names, addresses, e-mails and phones live in two places: `orders.data`
(the order as published) and the bodies of the integration's outbound events in
`outbox` (`order.imported`, `order.updated`). The items and the changes are erased
with them, and what else the integration left: its stock files, the to-do list's
causes, its shipping-file state (not personal, but the merchant's). Tables that
reference `orders` or `order_items` with ON DELETE CASCADE (shipments and their
items, cancellation steps) go with them.
The integration's row stays as a tombstone (so a late event for it changes
nothing), emptied of what named the merchant's shop.
"""

from __future__ import annotations

from typing import Any

import psycopg

DUE = """
SELECT integration_id FROM integrations
WHERE status = 'deleted' AND erased_at IS NULL
  AND deleted_at < now() - make_interval(secs => %(after_s)s)
ORDER BY deleted_at
LIMIT %(limit)s
"""
# In this order: the items before their orders (so no delete cascades to many rows),
# the lines of a stock file before the file.
STEPS = {
    "order_changes": """DELETE FROM order_changes WHERE id IN (
        SELECT id FROM order_changes WHERE integration_id = %(id)s
        LIMIT %(limit)s FOR UPDATE SKIP LOCKED)""",
    "order_items": """DELETE FROM order_items WHERE (integration_id, item_id) IN (
        SELECT integration_id, item_id FROM order_items WHERE integration_id = %(id)s
        LIMIT %(limit)s FOR UPDATE SKIP LOCKED)""",
    "orders": """DELETE FROM orders WHERE (integration_id, order_id) IN (
        SELECT integration_id, order_id FROM orders WHERE integration_id = %(id)s
        LIMIT %(limit)s FOR UPDATE SKIP LOCKED)""",
    "outbox": """DELETE FROM outbox WHERE id IN (
        SELECT id FROM outbox WHERE (body -> 'data' ->> 'integration_id') = %(id)s
        LIMIT %(limit)s FOR UPDATE SKIP LOCKED)""",
    "stock_import_lines": """DELETE FROM stock_import_lines WHERE (import_pk, sku) IN (
        SELECT l.import_pk, l.sku FROM stock_imports m JOIN stock_import_lines l ON l.import_pk = m.id
        WHERE m.integration_id = %(id)s
        LIMIT %(limit)s FOR UPDATE OF l SKIP LOCKED)""",
    "stock_imports": """DELETE FROM stock_imports WHERE id IN (
        SELECT id FROM stock_imports WHERE integration_id = %(id)s
        LIMIT %(limit)s FOR UPDATE SKIP LOCKED)""",
    "item_attention": """DELETE FROM item_attention WHERE (integration_id, item_id) IN (
        SELECT integration_id, item_id FROM item_attention WHERE integration_id = %(id)s
        LIMIT %(limit)s FOR UPDATE SKIP LOCKED)""",
    "shipment_files": "DELETE FROM shipment_files WHERE integration_id = %(id)s",
}
# Rows skipped because they were locked are still there: erased only when none is left.
LEFT = """
SELECT EXISTS (SELECT 1 FROM order_changes WHERE integration_id = %(id)s)
    OR EXISTS (SELECT 1 FROM order_items WHERE integration_id = %(id)s)
    OR EXISTS (SELECT 1 FROM orders WHERE integration_id = %(id)s)
    OR EXISTS (SELECT 1 FROM outbox WHERE (body -> 'data' ->> 'integration_id') = %(id)s)
    OR EXISTS (SELECT 1 FROM stock_imports WHERE integration_id = %(id)s)
    OR EXISTS (SELECT 1 FROM item_attention WHERE integration_id = %(id)s)
    OR EXISTS (SELECT 1 FROM shipments WHERE integration_id = %(id)s)
"""
MARK_ERASED = """
UPDATE integrations SET erased_at = now(), seller_id = '', application_name = '',
    rakuten_seller_id = NULL, status_detail = NULL, updated_at = now()
WHERE integration_id = %(id)s AND status = 'deleted' AND erased_at IS NULL
"""


def due(conn: psycopg.Connection[Any], *, after_s: float, limit: int) -> list[str]:
    """Deleted integrations whose erasure is due (deleted more than `after_s` seconds ago)."""
    return [row[0] for row in conn.execute(DUE, {"after_s": after_s, "limit": limit})]


def erase_batch(conn: psycopg.Connection[Any], step: str, integration_id: str, *, limit: int) -> int:
    """Delete up to `limit` rows of one step (a key of `STEPS`); return how many."""
    return conn.execute(STEPS[step], {"id": integration_id, "limit": limit}).rowcount


def finish(conn: psycopg.Connection[Any], integration_id: str) -> bool:
    """Mark the integration erased if nothing of it is left; return whether it was."""
    row = conn.execute(LEFT, {"id": integration_id}).fetchone()
    if row is None or row[0]:
        return False
    return conn.execute(MARK_ERASED, {"id": integration_id}).rowcount == 1
