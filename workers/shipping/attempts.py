"""What one attempt to tell Rakuten about an item comes to, and recording it under its claim.

Rakuten having the item shipped already is success. An item Rakuten does not show
accepted yet, or a Rakuten that cannot answer (unavailable, quota, an answer that
does not read), is tried again with a growing delay until the shipment's hold runs
out (`RAKUTEN_SHIPMENT_HOLD_S`), then reported. Any other refusal is final.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from connectors.rakuten import (
    RakutenAuthError,
    RakutenError,
    RakutenNotShippable,
    RakutenRateLimited,
    RakutenRejected,
)
from db import integrations, shipments
from db.shipment_claims import ENDED_STATUSES
from db.shipments import Outcome, Step
from workers.claims import Claim
from workers.context import Context
from workers.metrics import METRICS
from workers.retrying import retried
from workers.shipping.outcomes import report
from workers.verification import confirm_credentials

log = logging.getLogger(__name__)

#: retry bases (RAKUTEN_RETRY_BASE_S) before the second attempt, doubled after each failure
RETRY_FACTOR = 15
MAX_RETRY_S = 900.0  #: seconds, the longest wait between two attempts
#: attempts made even when the hold ran out meanwhile (a short hold still gets a retry)
MIN_ATTEMPTS = 3


def retry_in(ctx: Context, attempt: int) -> float:
    """Seconds before the attempt after attempt number `attempt` (1 for the first)."""
    base = ctx.settings.rakuten.rakuten_retry_base_s * RETRY_FACTOR
    return float(min(base * 2 ** min(attempt - 1, 30), MAX_RETRY_S))


def ended(step: Step) -> Outcome | None:
    """The outcome of an item Rakuten shows ended (cancelled, refused...): no call is made."""
    if step.item_status in ENDED_STATUSES:
        detail = f"the item is {step.item_status} on Rakuten"
        return Outcome("failed", "not_shippable", detail, attempted=False)
    return None


def confirmed(detail: str | None = None) -> Outcome:
    """Rakuten took the item's shipment (or had it already)."""
    return Outcome("confirmed", detail=detail)


def not_accepted(ctx: Context, step: Step, detail: str | None) -> Outcome:
    """Rakuten refused the tracking because the item is not accepted: wait for it, within the hold."""
    if step.past_hold:
        return Outcome("failed", "not_shippable", detail or "the item is not accepted on Rakuten")
    return Outcome("due", error="not accepted on Rakuten yet", retry_in_s=retry_in(ctx, step.attempts + 1))


def failed_call(
    ctx: Context, step: Step, current: integrations.Integration, exc: RakutenError, *, operation: str
) -> Outcome:
    """The outcome of a call that raised `exc`."""
    error = type(exc).__name__
    METRICS.rakuten_failures.labels(operation=operation, error=error).inc()
    if isinstance(exc, RakutenRateLimited):
        METRICS.quota_hits.labels(operation=operation).inc()
    if isinstance(exc, RakutenNotShippable):
        return not_accepted(ctx, step, exc.detail or exc.message)
    if isinstance(exc, RakutenAuthError):
        # not the item's fault: the credentials are confirmed (or not) by a verification
        confirm_credentials(ctx, current, operation)
        return unavailable(ctx, step, "Rakuten refused the credentials")
    if isinstance(exc, RakutenRejected):
        text = exc.detail or exc.message or exc.code
        return Outcome("failed", "rejected", text, error=f"{error}: {exc.code}")
    return unavailable(ctx, step, error)


def unavailable(ctx: Context, step: Step, error: str) -> Outcome:
    """Rakuten could not be told now: try again later, or report it once the hold ran out."""
    attempt = step.attempts + 1
    if step.past_hold and attempt >= MIN_ATTEMPTS:
        detail = f"Rakuten could not be told within the hold ({attempt} attempts, last: {error})"
        return Outcome("failed", "rejected", detail, error=error)
    return Outcome("due", error=error, retry_in_s=retry_in(ctx, attempt))


def record(ctx: Context, claim: Claim, outcomes: Sequence[tuple[Step, Outcome]],
           *, finish: Callable[[psycopg.Connection[Any]], None] | None = None) -> bool:
    """Record the outcomes while the claim holds, and report the batches they settle.

    Returns False (recording nothing) when the claim no longer holds. `finish` runs in
    the same transaction. The record is retried through transient database failures:
    Rakuten may have taken the items, and forgetting it would tell Rakuten again.
    """
    shipment_ids = [step.shipment_id for step, _ in outcomes]

    def once() -> tuple[bool, int]:
        with ctx.pool.connection() as conn, conn.transaction():
            shipments.lock_shipments(conn, shipment_ids)
            if not claim.holds(conn):
                return False, 0
            for step, outcome in outcomes:
                shipments.set_outcome(conn, step.shipment_id, step.item_id, outcome)
            if finish is not None:
                finish(conn)
            return True, sum(report(conn, shipment_id) for shipment_id in sorted(set(shipment_ids)))

    held, written = retried(once, what="a shipment's outcome")
    if written:
        ctx.dispatch.send("relay_outbox")
    return held
