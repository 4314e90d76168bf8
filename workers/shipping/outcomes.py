"""The outcome events of shipments: one per batch of items told together, and per failure reason.

`order.shipment_confirmed` names the items Rakuten took, `order.shipment_failed` the
others (one event per reason, so each says why); both when a batch has both. They
are written to the outbox in the transaction that made the batch's last item final.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any, cast, get_args

import psycopg

from db import outbox, shipment_reports
from events.outbound_data import ShipmentFailure
from events.outbound_orders import shipment_confirmed, shipment_failed
from workers.metrics import METRICS

MAX_DETAIL_CHARS = 1000  #: characters of an event's detail (Rakuten's texts for several items)
REASONS: frozenset[str] = frozenset(get_args(ShipmentFailure))


@dataclass(frozen=True)
class Failure:
    """An item that could not be told to Rakuten, and why."""

    item_id: str
    reason: ShipmentFailure
    detail: str | None = None


def failure_events(
    *, integration_id: str, account_id: str, shipped_event_id: str, order_id: str,
    failures: Iterable[Failure],
) -> list[dict[str, Any]]:
    """Build one `order.shipment_failed` per reason for the failed items of one `order.shipped`."""
    events = []
    ordered = sorted(failures, key=lambda f: (f.reason, f.item_id))
    for reason, group in groupby(ordered, key=lambda f: f.reason):
        items = list(group)
        events.append(shipment_failed(
            integration_id=integration_id, account_id=account_id, shipped_event_id=shipped_event_id,
            order_id=order_id, item_ids=[f.item_id for f in items], reason=reason,
            detail=_joined(f.detail for f in items),
        ))
        METRICS.shipment_items.labels(outcome=reason).inc(len(items))
    return events


def as_reason(value: str | None) -> ShipmentFailure:
    """Return a stored reason as the contract's; raise ValueError for anything else."""
    if value not in REASONS:
        raise ValueError(f"not a shipment failure reason: {value!r}")
    return cast(ShipmentFailure, value)


def _joined(details: Iterable[str | None]) -> str | None:
    text = "; ".join(dict.fromkeys(d for d in details if d))
    if len(text) > MAX_DETAIL_CHARS:
        text = text[: MAX_DETAIL_CHARS - 3] + "..."
    return text or None


def report(conn: psycopg.Connection[Any], shipment_id: int) -> int:
    """Write the events of the shipment's batches whose items are all final; return how many.

    Run it with the shipment locked, in the transaction that recorded the outcome.
    """
    settled = shipment_reports.reportable(conn, shipment_id)
    head = shipment_reports.header(conn, shipment_id) if settled else None
    if head is None:
        return 0
    events: list[dict[str, Any]] = []
    for _, batch in groupby(settled, key=lambda s: s.batch):
        events.extend(_batch_events(head, list(batch)))
    outbox.add_events(conn, events)
    shipment_reports.mark_reported(conn, shipment_id, [s.item_id for s in settled])
    return len(events)


def _batch_events(
    head: shipment_reports.Header, batch: Sequence[shipment_reports.Settled]
) -> list[dict[str, Any]]:
    confirmed = [s.item_id for s in batch if s.state == "confirmed"]
    events = []
    if confirmed:
        events.append(shipment_confirmed(
            integration_id=head.integration_id, account_id=head.account_id, order_id=head.order_id,
            item_ids=confirmed, carrier=head.transporter, tracking_number=head.tracking_number,
        ))
        METRICS.shipment_items.labels(outcome="confirmed").inc(len(confirmed))
    failures = [Failure(s.item_id, as_reason(s.reason), s.detail) for s in batch if s.state == "failed"]
    events.extend(failure_events(
        integration_id=head.integration_id, account_id=head.account_id,
        shipped_event_id=head.event_id, order_id=head.order_id, failures=failures,
    ))
    return events
