"""Telling Rakuten one item's tracking with `settrackingpackageinfos`, exactly once.

The step is claimed by the scheduler with a fencing token, which the message
carries: a stale or already started token does nothing, so neither a duplicate
message nor a late one calls Rakuten. Once Rakuten took the item (or answered that
it was shipped already) the step is final, and the batch's event is written with it.
"""

from __future__ import annotations

import logging

from connectors.rakuten import RakutenError
from db import integrations, shipments
from db.shipments import Outcome
from workers.claims import Claim
from workers.context import Context
from workers.logs import log_context
from workers.shipping import attempts

log = logging.getLogger(__name__)

OPERATION = "ship"  #: the operation label of this call's metrics


def ship_item(ctx: Context, shipment_id: int, item_id: str, token: int) -> str | None:
    """Tell Rakuten the tracking of one item of a shipment; return the step's new state.

    Returns None when there was nothing to do (stale token, step no longer due,
    integration not verified: a later claim or the sweep decides then).
    """
    claim = Claim.of(ctx, shipments.SHIP, [shipment_id, item_id], token)
    with log_context(item_id=item_id):
        if not claim.start():
            return None
        with ctx.pool.connection() as conn:
            step = shipments.get_step(conn, shipment_id, item_id)
            current = integrations.get(conn, step.integration_id) if step else None
        if step is None or step.state != "due" or step.via != "call" or step.tracking_number is None:
            return None
        if current is None or current.status != "verified":
            return None
        with log_context(integration_id=step.integration_id, order_id=step.order_id):
            outcome = attempts.ended(step) or _call(ctx, claim, step, current)
            if not attempts.record(ctx, claim, [(step, outcome)]):
                return None
            _log(outcome)
            return outcome.state


def _call(ctx: Context, claim: Claim, step: shipments.Step, current: integrations.Integration) -> Outcome:
    assert step.tracking_number is not None
    try:
        with claim.kept():
            result = ctx.rakuten.set_tracking_package_infos(
                ctx.credentials(current),
                step.item_id,
                transporter_name=step.transporter,
                tracking_number=step.tracking_number,
                tracking_url=step.tracking_url,
            )
    except RakutenError as exc:
        return attempts.failed_call(ctx, step, current, exc, operation=OPERATION)
    except ValueError as exc:  # the client refused the arguments before any call
        return Outcome("failed", "rejected", str(exc), error="ValueError")
    return attempts.confirmed(result.detail if result.already_shipped else None)


def _log(outcome: Outcome) -> None:
    if outcome.state == "due":
        log.warning("shipment not told to Rakuten (%s); trying again in %.1fs",
                    outcome.error, outcome.retry_in_s)
    elif outcome.state == "failed":
        log.warning("shipment failed: %s", outcome.reason)
    else:
        log.info("shipment told to Rakuten")
