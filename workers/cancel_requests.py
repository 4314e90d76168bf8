"""Applying `order.cancel_requested` in the ingress's transaction: one step per item.

The order and its items are locked as every writer of them does
(`db.order_life.lock_order`); the items to refuse or cancel get a step each
(`db.cancellations`), which also stops their automatic acceptance under the same
row locks. What cannot be asked of Rakuten at all is answered at once with
`order.cancellation_failed`: an order this service did not import for that
integration (or an integration of another account), items not in the order
(`unknown_order`), items already cancelled or refused (`not_cancellable`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg

from db import cancellations, integrations, order_life, outbox
from events.inbound_orders import OrderCancelRequested
from events.outbound_data import CancellationFailure
from events.outbound_orders import cancellation_failed

log = logging.getLogger(__name__)

#: item statuses past which there is nothing left to refuse or cancel
ENDED = frozenset({"CANCELLED", "REFUSED"})


def apply_request(conn: psycopg.Connection[Any], request_id: str, data: OrderCancelRequested) -> bool:
    """Record the steps of one `order.cancel_requested`; return whether an event was written."""
    current = integrations.get(conn, data.integration_id)
    if current is None or current.account_id != data.account_id or current.status == "deleted":
        detail = "no such integration for this account"
        return _failed(conn, request_id, data, data.item_ids or [], "unknown_order", detail)
    locked = order_life.lock_order(conn, data.integration_id, data.order_id)
    if locked is None:
        detail = "this order was not imported for this integration"
        return _failed(conn, request_id, data, data.item_ids or [], "unknown_order", detail)
    _, statuses = locked
    targets, failures = split_items(statuses, data.item_ids)
    if targets:
        cancellations.add(conn, data.integration_id, request_id, data.order_id, targets, data.reason)
        log.info("order %r: %d item(s) to refuse or cancel", data.order_id, len(targets))
    written = False
    for (reason, detail), item_ids in failures.items():
        written = _failed(conn, request_id, data, item_ids, reason, detail) or written
    return written


def split_items(
    statuses: Mapping[str, str], asked: Sequence[str] | None
) -> tuple[list[str], dict[tuple[CancellationFailure, str], list[str]]]:
    """Return the items to refuse or cancel, and the others grouped by (reason, detail).

    Without `asked`, every item not yet cancelled or refused is a target; when
    there is none left, the request fails for all of them.
    """
    failures: dict[tuple[CancellationFailure, str], list[str]] = {}
    if not asked:
        targets = sorted(i for i, s in statuses.items() if s not in ENDED)
        if not targets:
            failures[("not_cancellable", "every item is already cancelled or refused")] = sorted(statuses)
        return targets, failures
    targets = []
    for item_id in asked:
        status = statuses.get(item_id)
        if status is None:
            failures.setdefault(("unknown_order", "the item is not in this order"), []).append(item_id)
        elif status in ENDED:
            failures.setdefault(("not_cancellable", f"the item is already {status}"), []).append(item_id)
        else:
            targets.append(item_id)
    return targets, failures


def _failed(
    conn: psycopg.Connection[Any],
    request_id: str,
    data: OrderCancelRequested,
    item_ids: Sequence[str],
    reason: CancellationFailure,
    detail: str,
) -> bool:
    event = cancellation_failed(
        integration_id=data.integration_id,
        account_id=data.account_id,
        cancel_event_id=request_id,
        order_id=data.order_id,
        item_ids=item_ids,
        reason=reason,
        detail=detail,
    )
    log.info("order %r: cancellation refused (%s: %s)", data.order_id, reason, detail)
    return outbox.add_event(conn, event)
