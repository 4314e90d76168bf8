"""Refusing or cancelling one item on Rakuten: a tracked, fenced step with bounded retries.

The step is planned under the order's and the item's row locks: an item awaiting
acceptance is refused (`refusesale`), an accepted one cancelled (`cancelitem`, the
merchant's reason as the message to the buyer); an automatic acceptance under way is
waited for, so the two are never sent at once. A refusal Rakuten answers "already
accepted" becomes a cancellation. Success is recorded as an `order.updated` ending in
`REFUSED` or `CANCELLED`; Rakuten's final refusals end in `order.cancellation_failed`.
When an earlier attempt's answer was lost, Rakuten may have done it: a refusal then
waits one order poll, and counts as done if the poll shows the item ended.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import psycopg

from connectors.rakuten import (
    RakutenAlreadyAccepted,
    RakutenAuthError,
    RakutenError,
    RakutenItemStateError,
    RakutenRateLimited,
    RakutenRejected,
)
from db import cancellations, integrations, leases, order_life, outbox
from db.cancellations import Outcome, Step, StepKey
from db.integrations import Integration
from events.outbound_data import CancellationFailure
from events.outbound_orders import cancellation_failed
from workers.cancel_requests import ENDED
from workers.claims import Claim
from workers.context import Context
from workers.logs import log_context
from workers.metrics import METRICS
from workers.order_changes import Seen, record
from workers.order_mapping import AWAITING_ACCEPTANCE
from workers.verification import confirm_credentials

log = logging.getLogger(__name__)

#: attempts (calls Rakuten did not answer) before the step fails
MAX_ATTEMPTS = 6
#: retry bases (RAKUTEN_RETRY_BASE_S) before the second attempt, doubled after each failure
RETRY_FACTOR = 15
#: seconds between two looks at an automatic acceptance under way
ACCEPT_WAIT_S = 2.0


@dataclass(frozen=True)
class Plan:
    """What the step asks of Rakuten, decided under the item's lock."""

    action: str  #: refuse or cancel
    step: Step


def cancel_item(ctx: Context, integration_id: str, request_id: str, item_id: str, token: int) -> str | None:
    """Refuse or cancel one item of an `order.cancel_requested`; return the step's state.

    `token` is the claim's fencing token: a stale one (or a second copy of the
    message) does nothing, calls nothing and counts no attempt.
    """
    key = StepKey(integration_id, request_id, item_id)
    claim = Claim.of(ctx, leases.CANCEL, key.key, token)
    with log_context(integration_id=integration_id, item_id=item_id):
        if not claim.start():
            return None
        with ctx.pool.connection() as conn:
            current = integrations.get(conn, integration_id)
        if current is None or current.status != "verified":
            return None
        plan = _plan(ctx, current, claim, key)
        if plan is None:
            return None
        with claim.kept():
            outcome, changed = _call(ctx, current, key, plan)
        return _finish(ctx, current, claim, key, plan, outcome, changed)


def _plan(ctx: Context, current: Integration, claim: Claim, key: StepKey) -> Plan | None:
    """Decide the step's call; None when there is none to make (stale, waiting, settled)."""
    token = claim.token
    with ctx.pool.connection() as conn, conn.transaction():
        step = cancellations.step(conn, key, token) if claim.holds(conn) else None
        if step is None:
            return None
        locked = order_life.lock_order(conn, key.integration_id, step.order_id)
        status = locked[1].get(key.item_id) if locked else None
        within_s = ctx.settings.rakuten.rakuten_http_timeout_s * 2
        if cancellations.acceptance_under_way(conn, key, within_s=within_s):
            waiting = Outcome("pending", failure=step.failure, error=step.error, retry_in_s=ACCEPT_WAIT_S)
            cancellations.finish(conn, key, token, waiting)
            log.info("waiting for the acceptance under way before refusing the item")
            return None
        settled = _settled(status, step)
        if settled is None:
            action = "refuse" if status in AWAITING_ACCEPTANCE else "cancel"
            return Plan(action, step)
        _record_outcome(conn, current, key, token, step, settled)
    METRICS.cancellations.labels(outcome=settled.state).inc()
    ctx.dispatch.send("relay_outbox")
    return None


def _settled(status: str | None, step: Step) -> Outcome | None:
    """The step's end when no call is needed: the item ended, or a failure stands."""
    if status in ENDED:
        if step.attempts or step.unconfirmed:  # ours, maybe: the poll published it
            return Outcome("done")
        return Outcome("failed", failure="not_cancellable", error=f"the item is already {status}")
    if step.failure is not None:  # provisional, and the poll did not show the item ended
        return Outcome("failed", failure=step.failure, error=step.error)
    if status is None:
        return Outcome("failed", failure="rejected", error="the item is no longer stored")
    return None


def _call(ctx: Context, current: Integration, key: StepKey, plan: Plan) -> tuple[Outcome, Seen | None]:
    """Ask Rakuten; return the outcome and, on success, the item's new status."""
    creds = ctx.credentials(current)
    action = plan.action
    try:
        if action == "refuse":
            try:
                ctx.rakuten.refuse_sale(creds, key.item_id)
                return Outcome("done", action, attempted=True), Seen(key.item_id, "REFUSED")
            except RakutenAlreadyAccepted:
                action = "cancel"  # accepted meanwhile: only a cancellation ends it now
        ctx.rakuten.cancel_item(creds, key.item_id, plan.step.reason)
        return Outcome("done", action, attempted=True), Seen(key.item_id, "CANCELLED", "cancelled_by_seller")
    except RakutenAuthError:
        # not the item's fault: try it again later, and have the credentials confirmed
        confirm_credentials(ctx, current, "cancel")
        retry_in = ctx.settings.rakuten.rakuten_retry_base_s * RETRY_FACTOR
        return Outcome("pending", action, retry_in_s=retry_in, error="auth"), None
    except RakutenRejected as exc:
        return _refused(ctx, action, plan.step, exc), None
    except RakutenError as exc:
        return _unanswered(ctx, action, plan.step, exc), None


def _refused(ctx: Context, action: str, step: Step, exc: RakutenRejected) -> Outcome:
    """Rakuten's final refusal; checked against the next poll when Rakuten may have done it."""
    text = exc.detail or exc.message or exc.code or type(exc).__name__
    # an item state that forbids it (shipped, closed, cancelled...) is not_cancellable;
    # an unknown item or any other refusal is rejected
    failure = "not_cancellable" if isinstance(exc, RakutenItemStateError) else "rejected"
    if step.unconfirmed and isinstance(exc, RakutenItemStateError):
        return _provisional(ctx, action, failure, text)
    return Outcome("failed", action, attempted=True, failure=failure, error=text)


def _unanswered(ctx: Context, action: str, step: Step, exc: RakutenError) -> Outcome:
    """No answer (unavailable, throttled, unreadable): retried, a bounded number of times."""
    attempt = step.attempts + 1
    # a throttled call was not carried out; any other may have been
    unconfirmed = not isinstance(exc, RakutenRateLimited)
    if attempt >= MAX_ATTEMPTS:
        text = f"Rakuten did not answer after {attempt} attempts ({type(exc).__name__})"
        if step.unconfirmed or unconfirmed:
            return _provisional(ctx, action, "rejected", text, attempted=True)
        return Outcome("failed", action, attempted=True, failure="rejected", error=text)
    retry_in = ctx.settings.rakuten.rakuten_retry_base_s * RETRY_FACTOR * 2 ** (attempt - 1)
    log.warning("%s of the item failed (%s), attempt %d", action, type(exc).__name__, attempt)
    return Outcome("pending", action, attempted=True, unconfirmed=unconfirmed, retry_in_s=retry_in,
                   error=type(exc).__name__)


def _provisional(ctx: Context, action: str, failure: str, text: str, *, attempted: bool = True) -> Outcome:
    """A failure that stands unless the next poll shows the item ended (an earlier call got through)."""
    wait = ctx.settings.rakuten.rakuten_order_poll_interval_s * 1.5
    return Outcome("pending", action, attempted=attempted, failure=failure, error=text, retry_in_s=wait)


def _finish(
    ctx: Context, current: Integration, claim: Claim, key: StepKey, plan: Plan, outcome: Outcome,
    changed: Seen | None,
) -> str | None:
    """Record the outcome while the token is current: the change, or the failure, with its event."""
    with ctx.pool.connection() as conn, conn.transaction():
        if not claim.holds(conn):
            return None
        if changed is not None:
            record(conn, current, plan.step.order_id, [changed])
        _record_outcome(conn, current, key, claim.token, plan.step, outcome)
    if outcome.state != "pending":
        METRICS.cancellations.labels(outcome=outcome.state).inc()
        ctx.dispatch.send("relay_outbox")
        log.info("item %s: %s (%s)", key.item_id, outcome.state, outcome.action)
    return outcome.state


def _record_outcome(
    conn: psycopg.Connection[Any], current: Integration, key: StepKey, token: int, step: Step,
    outcome: Outcome,
) -> None:
    """Record the step's outcome, and a final failure's `order.cancellation_failed`."""
    cancellations.finish(conn, key, token, outcome)
    if outcome.state == "failed":
        not_cancellable = outcome.failure == "not_cancellable"
        reason: CancellationFailure = "not_cancellable" if not_cancellable else "rejected"
        event = cancellation_failed(
            integration_id=key.integration_id,
            account_id=current.account_id,
            cancel_event_id=key.request_id,
            order_id=step.order_id,
            item_ids=[key.item_id],
            reason=reason,
            detail=outcome.error,
        )
        outbox.add_event(conn, event)
