"""Importing a verified integration's orders, exactly once each, and accepting sales.

`getnewsales` returns every sale still awaiting acceptance and `getcurrentsales`
those accepted elsewhere: no date cursor decides what is new, the primary key
(integration, purchase id) does. Each order is stored with its `order.imported`
outbox row in one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from connectors.rakuten import (
    Credentials,
    RakutenAuthError,
    RakutenError,
    RakutenRateLimited,
    Sale,
    SalesAnswer,
)
from db import integrations, locks, orders, outbox, schedule
from events import outbound
from workers.context import Context
from workers.logs import log_context
from workers.metrics import METRICS
from workers.order_mapping import AWAITING_ACCEPTANCE, order_row
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
        try:
            # new sales first, stored before anything else can fail: they lapse in two days
            for fetch in (_new_sales, _current_sales):
                # read as it arrives, stored a chunk at a time: memory holds one chunk
                for batch in fetch(ctx, creds).batches(CHUNK):
                    seen += len(batch.sales)
                    imported += store_sales(ctx, current, batch.sales)
        except RakutenAuthError:
            refuse(ctx, current, "invalid_credentials", INVALID_CREDENTIALS_DETAIL)
            return None
        except RakutenError as exc:
            _poll_failed(ctx, current, exc)
            return None
        with ctx.pool.connection() as conn:
            schedule.finish_order_poll(
                conn, integration_id, ok=True, next_in_s=ctx.settings.rakuten.rakuten_order_poll_interval_s
            )
        METRICS.order_polls.labels(outcome="ok").inc()
        # a poll that brings nothing new is routine: it is logged at DEBUG only
        log.log(logging.INFO if imported else logging.DEBUG,
                "order poll: %d sale(s) seen, %d new order(s)", seen, imported)
        return imported


def _new_sales(ctx: Context, creds: Credentials) -> SalesAnswer:
    return ctx.rakuten.get_new_sales(creds)


def _current_sales(ctx: Context, creds: Credentials) -> SalesAnswer:
    """Sales accepted elsewhere (on the site, by another tool) within the lookback window."""
    lookback = ctx.settings.rakuten.rakuten_current_sales_lookback_days
    since = (datetime.now(UTC) - timedelta(days=lookback)).date()
    return ctx.rakuten.get_current_sales(creds, since=since)


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


def store_sales(ctx: Context, current: integrations.Integration, sales: Sequence[Sale]) -> int:
    """Store new orders with their outbox rows and record changes on known ones; return new count."""
    imported = 0
    for start in range(0, len(sales), CHUNK):
        rows = [order_row(s, auto_accept=current.auto_accept_orders) for s in sales[start : start + CHUNK]]
        with ctx.pool.connection() as conn, conn.transaction():
            inserted = orders.insert_new_orders(conn, current.integration_id, current.account_id, rows)
            outbox.add_events(
                conn,
                [
                    outbound.order_imported(
                        integration_id=current.integration_id, account_id=current.account_id, order=r.data
                    )
                    for r in rows
                    if r.order_id in inserted
                ],
            )
            changes = orders.record_item_changes(
                conn,
                current.integration_id,
                [i for r in rows if r.order_id not in inserted for i in r.items],
                awaiting_statuses=AWAITING_ACCEPTANCE,
            )
        imported += len(inserted)
        METRICS.orders_imported.inc(len(inserted))
        METRICS.order_changes.inc(changes)
        if inserted:
            ctx.dispatch.send("relay_outbox")
        if any(i.to_accept for r in rows if r.order_id in inserted for i in r.items):
            log.info("sale items to accept recorded")
    return imported
