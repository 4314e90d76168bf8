"""Telling Rakuten the items shipped without a tracking number, in one file per integration.

Shipping types without tracking (Rakuten's "Normal", prepaid labels) have no number
for `settrackingpackageinfos`; their items go as lines of one
`importitemshippingstatus` file, every due line of the integration at each claim.
Rakuten applies every line of a file or none: the lines it names get their outcome,
the others (not confirmed) go in the next file, where a line applied after all
answers "already shipped", which counts as done.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg

from connectors.rakuten import RakutenError, ShipmentLine, ShipmentLineResult, ShipmentOutcome
from db import integrations, shipments
from db.shipments import Outcome, Step
from workers.claims import Claim
from workers.context import Context
from workers.logs import log_context
from workers.shipping import attempts

log = logging.getLogger(__name__)

OPERATION = "ship_file"  #: the operation label of this call's metrics
MAX_LINES = 500  #: lines per file; the next claim takes the rest


def ship_file(ctx: Context, integration_id: str, token: int) -> int | None:
    """Send the integration's due shipping lines in one file; return how many lines it held.

    Returns None when the token is stale or the integration is not verified.
    """
    claim = Claim.of(ctx, shipments.SHIP_FILE, [integration_id], token)
    with log_context(integration_id=integration_id):
        if not claim.start():
            return None
        with ctx.pool.connection() as conn:
            current = integrations.get(conn, integration_id)
            steps = shipments.file_steps(conn, integration_id, limit=MAX_LINES)
        if current is None or current.status != "verified":
            return None
        outcomes = [(step, ended) for step in steps if (ended := attempts.ended(step))]
        sendable = [step for step in steps if attempts.ended(step) is None]
        if sendable:
            outcomes += _send(ctx, claim, current, sendable)

        def finish(conn: psycopg.Connection[Any]) -> None:
            shipments.finish_file(conn, integration_id, token, sent=bool(sendable))

        if not attempts.record(ctx, claim, outcomes, finish=finish):
            return None
        log.info("shipping file: %d line(s), %d confirmed", len(sendable),
                 sum(outcome.state == "confirmed" for _, outcome in outcomes))
        return len(sendable)


def _send(
    ctx: Context, claim: Claim, current: integrations.Integration, steps: list[Step]
) -> list[tuple[Step, Outcome]]:
    lines = [
        ShipmentLine(step.order_id, step.item_id, step.transporter, step.tracking_number, step.tracking_url)
        for step in steps
    ]
    try:
        with claim.kept():
            result = ctx.rakuten.import_item_shipping_status(ctx.credentials(current), lines)
    except RakutenError as exc:
        return [(step, attempts.failed_call(ctx, step, current, exc, operation=OPERATION)) for step in steps]
    except ValueError as exc:  # the file could not be built from these lines
        return [(step, Outcome("failed", "rejected", str(exc), error="ValueError")) for step in steps]
    by_item = result.by_item
    return [(step, _line_outcome(ctx, step, by_item.get(step.item_id))) for step in steps]


def _line_outcome(ctx: Context, step: Step, line: ShipmentLineResult | None) -> Outcome:
    if line is None or line.outcome is ShipmentOutcome.NOT_CONFIRMED:
        # Rakuten refused the file over other lines and applied none: this one goes again
        return Outcome("due", error="file refused over other lines", attempted=False, retry_in_s=0.0)
    if line.confirmed:
        return attempts.confirmed(line.detail if line.outcome is ShipmentOutcome.ALREADY_SHIPPED else None)
    if line.outcome is ShipmentOutcome.NOT_SHIPPABLE:
        return attempts.not_accepted(ctx, step, line.detail)
    return Outcome("failed", "rejected", line.detail, error=line.outcome.value)
