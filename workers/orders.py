"""Importing a verified integration's orders, exactly once each, and accepting sales.

`getnewsales` returns every sale still awaiting acceptance and `getcurrentsales`
those accepted, over a look-back long enough for claims and payouts: no date cursor
decides what is new, the primary key (integration, purchase id) does. Each order is
stored with its `order.imported` outbox row in one transaction; a known order that
changed gets its `order.updated` (`workers.order_changes`), one that did not
writes nothing, and items gone from both answers before acceptance end as
`workers.vanished` says.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg

from connectors.rakuten import (
    Credentials,
    RakutenAuthError,
    RakutenError,
    RakutenRateLimited,
    Sale,
    SalesAnswer,
)
from db import integrations, locks, order_life, orders, outbox, schedule
from db.orders import OrderRow
from events import outbound
from events.order_payload import StatusReason
from workers import vanished
from workers.context import Context
from workers.logs import log_context
from workers.metrics import METRICS
from workers.order_changes import Seen, record
from workers.order_mapping import order_row
from workers.vanished import CURRENT_SALES, NEW_SALES, PollView
from workers.verification import INVALID_CREDENTIALS_DETAIL, refuse

log = logging.getLogger(__name__)

#: sales stored per transaction
CHUNK = 500
#: the longest wait between two polls after failures (sales lapse after about two days)
MAX_POLL_BACKOFF_S = 900.0


def import_orders(ctx: Context, integration_id: str) -> int | None:
    """Poll the integration's sales and store the new ones; return how many were new.

    Returns None when the poll did not run (another worker holds it, the
    integration is not verified) or failed; the next poll is scheduled either way.
    """
    with (
        locks.exclusive(ctx.pool, "orders", integration_id) as mine,
        log_context(integration_id=integration_id),
    ):
        if not mine:
            log.debug("order poll already running elsewhere")
            return None
        with ctx.pool.connection() as conn:
            current = integrations.get(conn, integration_id)
        if current is None or current.status != "verified":
            return None
        creds = ctx.credentials(current)
        seen = imported = 0
        view = PollView()
        try:
            # new sales first, stored before anything else can fail: they lapse in two days
            for name, fetch in ((NEW_SALES, _new_sales), (CURRENT_SALES, _current_sales)):
                # read as it arrives, stored a chunk at a time: memory holds one chunk
                for batch in fetch(ctx, creds).batches(CHUNK):
                    seen += len(batch.sales)
                    for failure in batch.failures:
                        view.saw_unreadable(failure.purchase_id)
                    imported += store_sales(ctx, current, batch.sales, view=view, answer=name)
        except RakutenAuthError:
            refuse(ctx, current, "invalid_credentials", INVALID_CREDENTIALS_DETAIL)
            return None
        except RakutenError as exc:
            _poll_failed(ctx, current, exc)
            return None
        # both answers read through: what neither showed has left Rakuten's lists
        if vanished.settle(ctx, current, view, since=_since(ctx)):
            ctx.dispatch.send("relay_outbox")
        with ctx.pool.connection() as conn:
            schedule.finish_order_poll(
                conn, integration_id, ok=True, next_in_s=ctx.settings.rakuten.rakuten_order_poll_interval_s
            )
        METRICS.order_polls.labels(outcome="ok").inc()
        log.info("order poll: %d sale(s) seen, %d new order(s)", seen, imported)
        return imported


def _new_sales(ctx: Context, creds: Credentials) -> SalesAnswer:
    return ctx.rakuten.get_new_sales(creds)


def _since(ctx: Context) -> date:
    lookback = ctx.settings.rakuten.rakuten_current_sales_lookback_days
    return (datetime.now(UTC) - timedelta(days=lookback)).date()


def _current_sales(ctx: Context, creds: Credentials) -> SalesAnswer:
    """Sales after acceptance (here, on the site, by another tool) within the look-back window."""
    return ctx.rakuten.get_current_sales(creds, since=_since(ctx))


def _poll_failed(ctx: Context, current: integrations.Integration, exc: RakutenError) -> None:
    interval = ctx.settings.rakuten.rakuten_order_poll_interval_s
    delay = min(interval * 2 ** min(current.orders_failures, 10), max(interval, MAX_POLL_BACKOFF_S))
    with ctx.pool.connection() as conn:
        schedule.finish_order_poll(conn, current.integration_id, ok=False, next_in_s=delay)
    error = type(exc).__name__
    if isinstance(exc, RakutenRateLimited):
        METRICS.quota_hits.labels(operation="orders").inc()
    METRICS.order_polls.labels(outcome="failed").inc()
    METRICS.rakuten_failures.labels(operation="orders", error=error).inc()
    log.warning("order poll failed (%s: %s); next poll in %.0fs", error, exc, delay)


def store_sales(
    ctx: Context,
    current: integrations.Integration,
    sales: Sequence[Sale],
    *,
    view: PollView | None = None,
    answer: str = NEW_SALES,
) -> int:
    """Store new orders with their outbox rows and publish changes of known ones; return new count.

    `answer` names the call the sales come from; `view`, when given, notes what it showed.
    """
    imported = 0
    for start in range(0, len(sales), CHUNK):
        rows = [order_row(s, auto_accept=current.auto_accept_orders) for s in sales[start : start + CHUNK]]
        if view is not None:
            for r in rows:
                view.saw(answer, r.order_id, [i.item_id for i in r.items])
        with ctx.pool.connection() as conn, conn.transaction():
            known = order_life.known_statuses(conn, current.integration_id, [r.order_id for r in rows])
            fresh = [r for r in rows if r.order_id not in known]
            inserted = orders.insert_new_orders(conn, current.integration_id, current.account_id, fresh)
            outbox.add_events(
                conn,
                [
                    outbound.order_imported(
                        integration_id=current.integration_id, account_id=current.account_id, order=r.data
                    )
                    for r in fresh
                    if r.order_id in inserted
                ],
            )
            changes = _record_known(conn, current, [r for r in rows if r.order_id in known], known, answer)
        imported += len(inserted)
        METRICS.orders_imported.inc(len(inserted))
        METRICS.order_changes.inc(changes)
        if inserted or changes:
            ctx.dispatch.send("relay_outbox")
        if any(i.to_accept for r in fresh if r.order_id in inserted for i in r.items):
            log.info("sale items to accept recorded")
    return imported


def _record_known(
    conn: psycopg.Connection[Any],
    current: integrations.Integration,
    rows: Sequence[OrderRow],
    known: dict[str, dict[str, str]],
    answer: str,
) -> int:
    """Publish the known orders whose items differ from what was published; return the changes."""
    count = 0
    # locked in order-id order: two transactions locking several orders this way wait, never deadlock
    for row in sorted(rows, key=lambda r: r.order_id):
        stored = known[row.order_id]
        if all(stored.get(i.item_id) == i.status for i in row.items):
            continue  # the usual case: nothing to lock, nothing to write
        seen = [Seen(i.item_id, i.status, _reason(answer, i.status), row=i) for i in row.items]
        event = record(conn, current, row.order_id, seen, fresh=row.data)
        if event is not None:
            count += len(event["data"]["changes"])
    return count


def _reason(answer: str, status: str) -> StatusReason | None:
    # rakuten-api.md 8b: getnewsales shows CANCELLED only for a buyer's cancellation
    return "cancelled_by_buyer" if answer == NEW_SALES and status == "CANCELLED" else None
