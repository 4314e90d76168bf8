"""Accepting sale items on Rakuten, one tracked step per item, for integrations that opted in.

An item is accepted at most once by us: the step is recorded when Rakuten
answers, failures are retried by the scheduler's sweep with backoff, and an item
that a later poll shows accepted (by the seller on the site, say) counts as done.
An acceptance is published as an `order.updated` (the item `ACCEPTED`), and never
starts once the merchant asked for the item's cancellation (`orders.begin_acceptance`).
"""

from __future__ import annotations

import logging

from connectors.rakuten import RakutenAuthError, RakutenError, RakutenRateLimited, RakutenRejected
from db import integrations, leases, order_life, orders
from db.integrations import Integration
from workers.claims import Claim
from workers.context import Context
from workers.logs import log_context
from workers.metrics import METRICS
from workers.order_changes import Seen, record
from workers.order_mapping import AWAITING_ACCEPTANCE
from workers.verification import confirm_credentials

log = logging.getLogger(__name__)

#: attempts before an item is left for the seller to accept on the site
MAX_ATTEMPTS = 6
#: retry bases (RAKUTEN_RETRY_BASE_S) before the second attempt, doubled after each failure
RETRY_FACTOR = 15


def accept_item(ctx: Context, integration_id: str, item_id: str, token: int) -> str | None:
    """Accept one sale item on Rakuten if it is still to be accepted; return its new state.

    `token` is the claim's fencing token: a stale one does nothing.
    """
    claim = Claim.of(ctx, leases.ACCEPT, [integration_id, item_id], token)
    with log_context(integration_id=integration_id, item_id=item_id):
        if not claim.start():
            return None
        with ctx.pool.connection() as conn:
            state = orders.get_accept_state(conn, integration_id, item_id)
            current = integrations.get(conn, integration_id)
        if state is None or state.accept_state != "pending":
            return None
        if current is None or current.status != "verified":
            return None
        if not current.auto_accept_orders:  # turned off since: leave the item to the seller
            _record(ctx, claim, state="none", attempted=False)
            return "none"
        with ctx.pool.connection() as conn:
            if orders.begin_acceptance(conn, integration_id, item_id) is None:
                # its cancellation was asked for meanwhile: a retry may have left it due
                orders.withdraw_acceptance(conn, integration_id, item_id)
                return None
        try:
            with claim.kept():
                ctx.rakuten.accept_sale_item(
                    ctx.credentials(current),
                    item_id,
                    shipping_from_country=ctx.settings.rakuten.rakuten_shipping_from_country,
                )
        except RakutenAuthError:
            # not the item's fault: try it again later, and have the credentials confirmed
            METRICS.rakuten_failures.labels(operation="accept", error="RakutenAuthError").inc()
            confirm_credentials(ctx, current, "accept")
            retry_in = ctx.settings.rakuten.rakuten_retry_base_s * RETRY_FACTOR
            _record(ctx, claim, state="pending", attempted=False, retry_in_s=retry_in, error="auth")
            return "pending"
        except RakutenError as exc:
            return _failed(ctx, claim, state.accept_attempts + 1, exc)
        if _record(ctx, claim, state="accepted", attempted=True, accepted=(current, state.order_id)):
            ctx.dispatch.send("relay_outbox")
        METRICS.sales_accepted.inc()
        log.info("sale item accepted")
        return "accepted"


def _record(
    ctx: Context,
    claim: Claim,
    *,
    state: str,
    attempted: bool,
    retry_in_s: float | None = None,
    error: str | None = None,
    accepted: tuple[Integration, str] | None = None,
) -> bool:
    """Record the attempt's outcome while the claim holds; False when it no longer does.

    `accepted` (the integration and the item's order) publishes the item `ACCEPTED`.
    """
    integration_id, item_id = (str(part) for part in claim.key)
    with ctx.pool.connection() as conn, conn.transaction():
        if accepted is not None:  # the order's lock first, as every writer of its items takes it
            order_life.lock_order(conn, integration_id, accepted[1])
        if not claim.holds(conn):
            return False
        if accepted is not None:
            current, order_id = accepted
            record(conn, current, order_id, [Seen(item_id, "ACCEPTED", if_status_in=AWAITING_ACCEPTANCE)])
        orders.set_accept_state(
            conn, integration_id, item_id, state=state, attempted=attempted,
            retry_in_s=retry_in_s, error=error,
        )
    return True


def _failed(ctx: Context, claim: Claim, attempt: int, exc: RakutenError) -> str:
    if isinstance(exc, RakutenRateLimited):
        METRICS.quota_hits.labels(operation="accept").inc()
    METRICS.accept_failures.labels(error=type(exc).__name__).inc()
    # a refusal (ParameterError: the item cannot be accepted, e.g. already accepted or
    # cancelled) is retried too: a later poll settles items that are no longer waiting
    give_up = attempt >= MAX_ATTEMPTS
    state = "failed" if give_up else "pending"
    base = ctx.settings.rakuten.rakuten_retry_base_s
    retry_in = None if give_up else base * RETRY_FACTOR * 2 ** (attempt - 1)
    detail = f"{type(exc).__name__}: {exc.code}" if isinstance(exc, RakutenRejected) else type(exc).__name__
    _record(ctx, claim, state=state, attempted=True, retry_in_s=retry_in, error=detail)
    log.warning("accepting the sale item failed (%s), attempt %d", detail, attempt)
    return state
