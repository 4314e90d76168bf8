"""Applying `order.shipped` in the ingress's transaction: a shipment and one step per item.

What can be decided without Rakuten is decided here, and its event written at once:
an integration of another account or an order never imported is `unknown_order` (as
is an item that is not in the order), `Autre` without a tracking URL is
`tracking_url_required`, a cancelled or refused item is `not_shippable`. An item an
earlier shipment with the same tracking number tells (or told) Rakuten is left to
it, so the same shipment sent twice calls Rakuten once and publishes nothing new.
The other items become steps: due now when Rakuten shows them accepted, else
waiting for their acceptance (`workers.shipping.sweep`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from connectors.rakuten import OTHER_TRANSPORTER, normalise_carrier
from db import integrations, outbox, shipments
from db.shipment_claims import ENDED_STATUSES
from events.inbound import InboundEvent
from events.inbound_orders import OrderShipped
from events.outbound_orders import shipment_failed
from workers.logs import log_context
from workers.shipping.outcomes import Failure, as_reason, failure_events

log = logging.getLogger(__name__)

FIRST_BATCH = 1  #: the batch of the items told at once
AT_ONCE = 0  #: the batch of the items that failed before any call


@dataclass
class Plan:
    """What becomes of each item an `order.shipped` names."""

    steps: list[shipments.NewStep] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  #: not in the order
    covered: list[str] = field(default_factory=list)  #: told by an earlier shipment

    @property
    def failures(self) -> list[Failure]:
        """The items that failed before any call: steps failed at once, then unknown items."""
        failed = [Failure(s.item_id, as_reason(s.reason), s.detail) for s in self.steps if s.reason]
        unknown = [Failure(item, "unknown_order", "the item is not in the order") for item in self.unknown]
        return failed + unknown


def wanted_items(requested: Sequence[str] | None, statuses: Mapping[str, str]) -> list[str]:
    """The items an event names, or (none named) every item of the order that has not ended.

    When every item of the order ended, all of them are named, so the event still gets
    its answer (`not_shippable`), never silence.
    """
    if requested:
        return list(requested)
    alive = [item for item, status in statuses.items() if status not in ENDED_STATUSES]
    return alive or list(statuses)


def plan_items(
    items: Sequence[str], statuses: Mapping[str, str], covered: set[str], *, url_missing: str | None
) -> Plan:
    """Decide each item's first state; `url_missing` is the detail when `Autre` lacks a URL."""
    plan = Plan()
    for item in items:
        status = statuses.get(item)
        if status is None:
            plan.unknown.append(item)
        elif item in covered:
            plan.covered.append(item)
        elif url_missing is not None:
            reason = "tracking_url_required"
            plan.steps.append(shipments.NewStep(item, "failed", AT_ONCE, reason, url_missing))
        elif status in ENDED_STATUSES:
            detail = f"the item is {status} on Rakuten"
            plan.steps.append(shipments.NewStep(item, "failed", AT_ONCE, "not_shippable", detail))
        elif status == "ACCEPTED":
            plan.steps.append(shipments.NewStep(item, "due", FIRST_BATCH))
        else:
            plan.steps.append(shipments.NewStep(item, "waiting"))
    return plan


def apply_shipped(conn: psycopg.Connection[Any], event: InboundEvent, *, hold_s: float) -> bool:
    """Apply one `order.shipped` in the caller's transaction; return whether it wrote events."""
    data = event.data
    assert isinstance(data, OrderShipped)
    with log_context(integration_id=data.integration_id, order_id=data.order_id):
        problem = _unknown_order(conn, data)
        if problem is not None:
            log.info("order.shipped refused: %s", problem)
            failures = [Failure(item, "unknown_order", problem) for item in data.item_ids or []]
            return _write_failures(conn, event, data, failures, always=True, detail=problem) > 0
        statuses = shipments.order_items(conn, data.integration_id, data.order_id)
        items = wanted_items(data.item_ids, statuses)
        covered = shipments.covered_items(conn, data.integration_id, items, data.tracking_number)
        transporter = normalise_carrier(data.carrier)
        plan = plan_items(items, statuses, covered, url_missing=_url_missing(data, transporter))
        if plan.steps:
            shipment = shipments.NewShipment(
                event.id, data.integration_id, data.account_id, data.order_id, data.carrier, transporter,
                data.tracking_number, data.tracking_url, data.shipped_at,
            )
            shipments.insert_shipment(conn, shipment, plan.steps, hold_s=hold_s)
        log.info("order.shipped: %d item(s) to tell Rakuten (carrier %r), %d told already, %d failed",
                 sum(s.state != "failed" for s in plan.steps), transporter, len(plan.covered),
                 len(plan.failures))
        return _write_failures(conn, event, data, plan.failures) > 0


def _unknown_order(conn: psycopg.Connection[Any], data: OrderShipped) -> str | None:
    """Why the event names no order of ours (locking the order when it does), or None."""
    current = integrations.get(conn, data.integration_id)
    if current is None or current.account_id != data.account_id:
        return "no such integration for this account"
    if current.status == "deleted":
        return "the integration is deleted"
    if not shipments.lock_order(conn, data.integration_id, data.order_id):
        return "no such order imported for this integration"
    return None


def _url_missing(data: OrderShipped, transporter: str) -> str | None:
    if transporter == OTHER_TRANSPORTER and data.tracking_url is None:
        return (f"carrier {data.carrier!r} is not one of Rakuten's transporters: it is sent as "
                f"{OTHER_TRANSPORTER!r}, which needs a tracking_url")
    return None


def _write_failures(
    conn: psycopg.Connection[Any], event: InboundEvent, data: OrderShipped, failures: list[Failure],
    *, always: bool = False, detail: str | None = None,
) -> int:
    """Write the failures' events; with `always`, one even when no item is named."""
    events = failure_events(
        integration_id=data.integration_id, account_id=data.account_id, shipped_event_id=event.id,
        order_id=data.order_id, failures=failures,
    )
    if always and not events:
        events = [shipment_failed(
            integration_id=data.integration_id, account_id=data.account_id, shipped_event_id=event.id,
            order_id=data.order_id, item_ids=[], reason="unknown_order", detail=detail,
        )]
    outbox.add_events(conn, events)
    return len(events)
