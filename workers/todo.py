"""Reading a verified integration's Rakuten to-do list; each change of an item's causes is published.

`getitemtodolist` is one call per integration every `RAKUTEN_TODO_POLL_INTERVAL_S`,
without side effects. An item whose set of causes (a claim, unread messages) differs
from the last read gets one `order.attention_required` with its causes now; one that
left the list gets one with no causes. An unchanged list writes nothing but the next
read's due time. `getiteminfos` is never called: it would mark the merchant's
messages read.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg

from connectors.rakuten import RakutenAuthError, RakutenError, RakutenRateLimited, TodoItem
from db import attention, integrations, leases, outbox
from db.attention import Attention
from events.outbound_orders import attention_required
from workers.claims import Claim
from workers.context import Context
from workers.logs import log_context
from workers.metrics import METRICS
from workers.verification import confirm_credentials

log = logging.getLogger(__name__)

#: retry bases (RAKUTEN_RETRY_BASE_S) before a failed read is tried again, doubled per failure
RETRY_FACTOR = 15


def read_todo_list(ctx: Context, integration_id: str, token: int) -> int | None:
    """Read the to-do list and publish the items whose causes changed; return how many.

    `token` is the claim's fencing token: a stale one does nothing and calls nothing.
    """
    s = ctx.settings.rakuten
    claim = Claim.of(ctx, leases.TODO, [integration_id], token)
    with log_context(integration_id=integration_id):
        if not claim.start():
            return None
        with ctx.pool.connection() as conn:
            current = integrations.get(conn, integration_id)
        if current is None or current.status != "verified":
            return None
        try:
            with claim.kept():
                listed = ctx.rakuten.get_item_todo_list(ctx.credentials(current))
        except RakutenError as exc:
            if isinstance(exc, RakutenAuthError):
                confirm_credentials(ctx, current, "todo")
            _failed(ctx, integration_id, token, exc)
            return None
        with ctx.pool.connection() as conn, conn.transaction():
            if not claim.holds(conn):
                return None
            changed = _changed(conn, integration_id, listed)
            attention.store(conn, integration_id, changed)
            outbox.add_events(conn, [_event(current, a) for a in changed])
            attention.finish(conn, integration_id, token, ok=True, interval_s=s.rakuten_todo_poll_interval_s,
                             retry_base_s=s.rakuten_retry_base_s * RETRY_FACTOR)
        if changed:
            METRICS.attention_changes.inc(len(changed))
            ctx.dispatch.send("relay_outbox")
            log.info("to-do list: %d item(s) changed", len(changed))
        return len(changed)


def _changed(
    conn: psycopg.Connection[Any], integration_id: str, listed: Sequence[TodoItem]
) -> list[Attention]:
    now = {i.item_id: i for i in listed if i.causes}
    before = attention.stored(conn, integration_id, list(now))
    orders = attention.orders_of(conn, integration_id, sorted(set(now) | set(before)))
    return changes(now, before, orders)


def changes(
    listed: Mapping[str, TodoItem], before: Mapping[str, Attention], orders: Mapping[str, str]
) -> list[Attention]:
    """The items whose causes differ from the last read, each with its change count."""
    changed: list[Attention] = []
    for item_id, item in sorted(listed.items()):
        causes = tuple(sorted(item.causes))
        last = before.get(item_id)
        if last is None or last.causes != causes:
            order_id = orders.get(item_id) or item.purchase_id or (last.order_id if last else None)
            changed.append(Attention(item_id, order_id, causes, (last.changes if last else 0) + 1))
    for item_id, last in sorted(before.items()):
        if last.causes and item_id not in listed:
            changed.append(Attention(item_id, orders.get(item_id) or last.order_id, (), last.changes + 1))
    return changed


def _event(current: integrations.Integration, item: Attention) -> dict[str, Any]:
    return attention_required(
        integration_id=current.integration_id,
        account_id=current.account_id,
        order_id=item.order_id,
        item_id=item.item_id,
        causes=item.causes,
        change_number=item.changes,
    )


def _failed(ctx: Context, integration_id: str, token: int, exc: RakutenError) -> None:
    s = ctx.settings.rakuten
    with ctx.pool.connection() as conn:
        attention.finish(conn, integration_id, token, ok=False, interval_s=s.rakuten_todo_poll_interval_s,
                         retry_base_s=s.rakuten_retry_base_s * RETRY_FACTOR)
    if isinstance(exc, RakutenRateLimited):
        METRICS.quota_hits.labels(operation="todo").inc()
    METRICS.rakuten_failures.labels(operation="todo", error=type(exc).__name__).inc()
    log.warning("reading the to-do list failed (%s)", type(exc).__name__)
