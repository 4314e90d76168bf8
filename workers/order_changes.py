"""A known order's changes: compared with what was published, recorded, published once.

Whoever learns something of a known order's items (the poll, a refusal or
cancellation Rakuten took, an acceptance) hands it to `record`, which locks the
order, compares with the statuses last published, and in the caller's transaction
stores the difference and writes one `order.updated` carrying the whole order now
and the list of changes. What equals the stored state writes nothing at all.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg

from db import order_life, orders, outbox
from db.integrations import Integration
from db.orders import ItemRow, OrderRow
from events.order_payload import StatusReason
from events.outbound_data import ItemChange
from events.outbound_orders import order_updated
from workers.order_mapping import AWAITING_ACCEPTANCE

log = logging.getLogger(__name__)

#: the two answers a poll reads
NEW_SALES = "getnewsales"
CURRENT_SALES = "getcurrentsales"


@dataclass(frozen=True)
class Seen:
    """What is now known of one item of a known order: its status, and why when known.

    `row` and `data` describe an item the order did not have yet (its row to store
    and its JSON in the order); for a known item they may be None. With
    `if_status_in`, the change applies only while the stored status is one of those.
    """

    item_id: str
    status: str
    reason: StatusReason | None = None
    row: ItemRow | None = None
    data: Mapping[str, Any] | None = None
    if_status_in: frozenset[str] | None = None


def record(
    conn: psycopg.Connection[Any],
    integration: Integration,
    order_id: str,
    seen: Sequence[Seen],
    *,
    fresh: Mapping[str, Any] | None = None,
) -> dict[str, Any] | None:
    """Record what differs from the published order and write its `order.updated`; return the event.

    `fresh` is the order as Rakuten shows it now (its items may be fewer than the
    stored ones); without it the stored order is the base. Returns None, having
    written nothing, when nothing differs or the order is not known.
    """
    locked = order_life.lock_order(conn, integration.integration_id, order_id)
    if locked is None:
        return None
    stored, statuses = locked
    changes = _changes(statuses, seen)
    if not changes:
        return None
    added = [s.row for s in seen if s.item_id not in statuses and s.row is not None]
    orders.insert_items(conn, integration.integration_id, added)
    now = {**statuses, **{c.item_id: c.new_status for c in changes}}
    data = merged_order(stored, fresh, now, {c.item_id: c for c in changes}, {s.item_id: s for s in seen})
    event = order_updated(
        integration_id=integration.integration_id,
        account_id=integration.account_id,
        order=data,
        changes=[ItemChange(item_id=c.item_id, from_status=c.old_status, to_status=c.new_status)
                 for c in changes],
    )
    order_life.record_changes(
        conn, integration.integration_id, order_id, changes, event_id=event["id"],
        awaiting_statuses=AWAITING_ACCEPTANCE,
    )
    order_life.update_order(conn, integration.integration_id, order_id, data)
    if not outbox.add_event(conn, event):
        # the contract's id names the items and their new statuses only: the same
        # transition seen again later (a second claim on an item) repeats an id
        log.info("order %r: an order.updated with these changes was published before", order_id)
    return event


def record_known(
    conn: psycopg.Connection[Any],
    current: Integration,
    rows: Sequence[OrderRow],
    known: Mapping[str, Mapping[str, str]],
    answer: str,
) -> int:
    """Publish the known orders of a poll's answer whose items differ from what was published.

    `known` holds the stored statuses of their items, read without locks: only an
    order that seems to differ is locked and compared again. Returns the number of
    changes recorded.
    """
    count = 0
    # locked in order-id order: two transactions locking several orders this way wait, never deadlock
    for row in sorted(rows, key=lambda r: r.order_id):
        stored = known[row.order_id]
        if all(stored.get(i.item_id) == i.status for i in row.items):
            continue  # the usual case: nothing to lock, nothing to write
        seen = [Seen(i.item_id, i.status, _seen_reason(answer, i.status), row=i) for i in row.items]
        event = record(conn, current, row.order_id, seen, fresh=row.data)
        if event is not None:
            count += len(event["data"]["changes"])
    return count


def _seen_reason(answer: str, status: str) -> StatusReason | None:
    # rakuten-api.md 8b: getnewsales shows CANCELLED only for a buyer's cancellation
    return "cancelled_by_buyer" if answer == NEW_SALES and status == "CANCELLED" else None


def _changes(statuses: Mapping[str, str], seen: Sequence[Seen]) -> list[order_life.RecordedChange]:
    """Return the changes `seen` makes to the stored statuses, one per item (the last word wins)."""
    latest = {s.item_id: s for s in seen}
    return [
        order_life.RecordedChange(s.item_id, statuses.get(s.item_id), s.status, s.reason)
        for s in latest.values()
        if _applies(s, statuses.get(s.item_id))
    ]


def _applies(seen: Seen, stored: str | None) -> bool:
    if stored is None:
        return seen.row is not None
    return stored != seen.status and (seen.if_status_in is None or stored in seen.if_status_in)


def merged_order(
    stored: Mapping[str, Any],
    fresh: Mapping[str, Any] | None,
    statuses: Mapping[str, str],
    changed: Mapping[str, order_life.RecordedChange],
    seen: Mapping[str, Seen],
) -> dict[str, Any]:
    """Return the whole order now: Rakuten's latest view, with every item ever stored kept.

    An item that left Rakuten's answer (cancelled before acceptance) stays in the
    order with its final status. A changed item's `status_reason` is the change's;
    an unchanged item keeps the one it had.
    """
    base = dict(fresh if fresh is not None else stored)
    old_items = {i["item_id"]: i for i in stored["items"]}
    new_items = {i["item_id"]: i for i in (fresh["items"] if fresh is not None else [])}
    for item_id, s in seen.items():
        if s.data is not None:
            new_items.setdefault(item_id, s.data)
    order = list(old_items) + [i for i in new_items if i not in old_items]
    items = []
    for item_id in order:
        if item_id not in statuses:
            continue
        item = dict(new_items.get(item_id) or old_items[item_id])
        item["status"] = statuses[item_id]
        change = changed.get(item_id)
        item["status_reason"] = (
            change.reason if change is not None else old_items.get(item_id, {}).get("status_reason")
        )
        items.append(item)
    base["items"] = items
    base["status"] = "new" if any(i["status"] in AWAITING_ACCEPTANCE for i in items) else "accepted"
    base["total"] = _total(items, stored)
    return base


def _total(items: Sequence[Mapping[str, Any]], stored: Mapping[str, Any]) -> dict[str, str]:
    """The sum of the items' prices, as `order.imported` gives it."""
    prices = [i["unit_price"] for i in items]
    currency = prices[0]["currency"] if prices else stored["total"]["currency"]
    return {"amount": str(sum((Decimal(p["amount"]) for p in prices), Decimal(0))), "currency": currency}
