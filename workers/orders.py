"""Importing a verified integration's orders, exactly once each, and accepting sales.

`getnewsales` returns every sale still awaiting acceptance and `getcurrentsales`
those accepted, over a look-back long enough for claims and payouts: no date cursor
decides what is new, the primary key (integration, purchase id) does. Each order is
stored with its `order.imported` outbox row in one transaction; a known order that
changed gets its `order.updated` (`workers.order_changes`), one that did not writes
nothing, and items gone from both answers before acceptance end as `workers.vanished`
says.

A sale of the answer that cannot be read holds back no other: it is skipped,
logged with its purchase id and the field (never the value), counted, and reported
with `order.import_failed` in the transaction of the sales read beside it. Its event
id names the sale and the reason, so a sale that stays unreadable is reported once;
it is tried again at every poll, since Rakuten keeps returning it, and imported as
soon as it reads.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from connectors.rakuten import (
    Credentials,
    RakutenAuthError,
    RakutenError,
    RakutenRateLimited,
    Sale,
    SaleFailure,
    SalesAnswer,
)
from db import integrations, leases, order_life, orders, outbox, schedule
from events import outbound, outbound_orders
from workers import vanished
from workers.claims import Claim
from workers.context import Context
from workers.logs import log_context
from workers.metrics import METRICS
from workers.order_changes import CURRENT_SALES, NEW_SALES, record_known
from workers.order_mapping import order_row
from workers.vanished import PollView
from workers.verification import confirm_credentials

log = logging.getLogger(__name__)

#: sales stored per transaction
CHUNK = 500
#: the longest wait between two polls after failures (sales lapse after about two days)
MAX_POLL_BACKOFF_S = 900.0


def import_orders(ctx: Context, integration_id: str, token: int) -> int | None:
    """Poll the integration's sales and store the new ones; return how many were new.

    `token` is the claim's fencing token: a stale one (the poll was claimed again,
    or a copy of this message already started it) does nothing. Returns None
    when the poll did not run (stale token, integration not verified) or failed;
    the next poll is scheduled either way.
    """
    claim = Claim.of(ctx, leases.ORDERS, [integration_id], token)
    with log_context(integration_id=integration_id):
        if not claim.start():
            return None
        with ctx.pool.connection() as conn:
            current = integrations.get(conn, integration_id)
        if current is None or current.status != "verified":
            return None
        try:
            with claim.kept():
                seen, imported = _poll(ctx, current, claim)
        except RakutenError as exc:
            if isinstance(exc, RakutenAuthError):
                confirm_credentials(ctx, current, "orders")
            _poll_failed(ctx, current, claim, exc)
            return None
        with ctx.pool.connection() as conn:
            interval = ctx.settings.rakuten.rakuten_order_poll_interval_s
            schedule.finish_order_poll(conn, integration_id, token, ok=True, next_in_s=interval)
        METRICS.order_polls.labels(outcome="ok").inc()
        # a poll that brings nothing new is routine: it is logged at DEBUG only
        log.log(logging.INFO if imported else logging.DEBUG,
                "order poll: %d sale(s) seen, %d new order(s)", seen, imported)
        return imported


def _poll(ctx: Context, current: integrations.Integration, claim: Claim) -> tuple[int, int]:
    """Read and store the new sales, then the current ones; return (sales seen, new orders)."""
    creds = ctx.credentials(current)
    seen = imported = 0
    view = PollView()
    # new sales first, stored before anything else can fail: they lapse in two days
    for answer, fetch in ((NEW_SALES, _new_sales), (CURRENT_SALES, _current_sales)):
        # read as it arrives, stored a chunk at a time: memory holds one chunk
        for batch in fetch(ctx, creds).batches(CHUNK):
            seen += len(batch.sales) + len(batch.failures)
            for failure in batch.failures:
                view.saw_unreadable(failure.purchase_id)
            imported += store_sales(
                ctx, current, batch.sales, failures=batch.failures, claim=claim, view=view, answer=answer
            )
    # both answers read through: what neither showed has left Rakuten's lists
    if vanished.settle(ctx, current, view, since=_since(ctx), holds=claim.holds):
        ctx.dispatch.send("relay_outbox")
    return seen, imported


def _new_sales(ctx: Context, creds: Credentials) -> SalesAnswer:
    return ctx.rakuten.get_new_sales(creds)


def _since(ctx: Context) -> date:
    lookback = ctx.settings.rakuten.rakuten_current_sales_lookback_days
    return (datetime.now(UTC) - timedelta(days=lookback)).date()


def _current_sales(ctx: Context, creds: Credentials) -> SalesAnswer:
    """Sales after acceptance (here, on the site, by another tool) within the look-back window."""
    return ctx.rakuten.get_current_sales(creds, since=_since(ctx))


def _poll_failed(ctx: Context, current: integrations.Integration, claim: Claim, exc: RakutenError) -> None:
    interval = ctx.settings.rakuten.rakuten_order_poll_interval_s
    delay = min(interval * 2 ** min(current.orders_failures, 10), max(interval, MAX_POLL_BACKOFF_S))
    with ctx.pool.connection() as conn:
        schedule.finish_order_poll(conn, current.integration_id, claim.token, ok=False, next_in_s=delay)
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
    failures: Sequence[SaleFailure] = (),
    claim: Claim | None = None,
    view: PollView | None = None,
    answer: str = NEW_SALES,
) -> int:
    """Store new orders with their outbox rows and publish changes of known ones; return new count.

    `failures` (the sales of the same answer that could not be read) are reported in
    the first transaction. With a `claim`, each transaction first checks that it
    still holds the poll: a poll that lost its lease must not record an older view
    of the items as a change. `answer` names the call the sales come from; `view`,
    when given, notes what it showed.
    """
    imported = 0
    for start in range(0, max(len(sales), 1 if failures else 0), CHUNK):
        rows = [order_row(s, auto_accept=current.auto_accept_orders) for s in sales[start : start + CHUNK]]
        if view is not None:
            for r in rows:
                view.saw(answer, r.order_id, [i.item_id for i in r.items])
        with ctx.pool.connection() as conn, conn.transaction():
            if claim is not None and not claim.holds(conn):
                return imported
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
                ]
                + (_unreadable(current, failures) if start == 0 else []),
            )
            changes = record_known(conn, current, [r for r in rows if r.order_id in known], known, answer)
        imported += len(inserted)
        METRICS.orders_imported.inc(len(inserted))
        METRICS.order_changes.inc(changes)
        if inserted or changes or (failures and start == 0):
            ctx.dispatch.send("relay_outbox")
        if any(i.to_accept for r in fresh if r.order_id in inserted for i in r.items):
            log.info("sale items to accept recorded")
    return imported


def _unreadable(
    current: integrations.Integration, failures: Sequence[SaleFailure]
) -> list[dict[str, object]]:
    """Log and count the sales that could not be read; return their `order.import_failed` events.

    The outbox keeps one row per event id: a sale unreadable at every poll is
    reported once, and again only if it fails another way.
    """
    for failure in failures:
        log.warning("sale %r could not be read (%s): skipped, tried again at the next poll",
                    failure.purchase_id, failure.detail)
    METRICS.sales_unreadable.inc(len(failures))
    return [
        outbound_orders.order_import_failed(
            integration_id=current.integration_id,
            account_id=current.account_id,
            order_id=failure.purchase_id,
            detail=failure.detail,
        )
        for failure in failures
    ]
