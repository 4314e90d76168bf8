"""Items that left Rakuten's answers before acceptance: lapsed, or cancelled by the buyer.

Rakuten does not always show such an item with a status: a buyer's cancellation
before acceptance may simply drop the item from `getnewsales`, and a sale that was
not accepted in time (about two days) leaves it whole. So after a poll that read
both answers through, an item still stored as awaiting acceptance that neither
answer showed has ended, and is published as a change to `CANCELLED`:

- its sale was still listed (other items shown): the buyer cancelled it;
- its whole sale left before `LAPSE_AFTER` from its purchase: the buyer cancelled;
- its whole sale left later than that: it lapsed.

An accepted sale moves to `getcurrentsales`, read in the same poll, so it is never
taken for a vanished one; sales older than the look-back of `getcurrentsales`, and
sales an answer held but could not read, are left alone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import psycopg

from db import order_life
from db.integrations import Integration
from events.order_payload import StatusReason
from workers.context import Context
from workers.metrics import METRICS
from workers.order_changes import CURRENT_SALES, NEW_SALES, Seen, record
from workers.order_mapping import AWAITING_ACCEPTANCE

#: a sale not accepted this long after its purchase may have lapsed (Rakuten: about two days)
LAPSE_AFTER = timedelta(days=2)


@dataclass
class PollView:
    """What one poll's answers showed: the sales each listed and every item id in them."""

    listed: dict[str, set[str]] = field(default_factory=lambda: {NEW_SALES: set(), CURRENT_SALES: set()})
    items: set[str] = field(default_factory=set)
    #: sales an answer held but could not read: whatever they hold is unknown
    unreadable: set[str] = field(default_factory=set)
    #: a sale whose purchase id could not be read either: nothing can be said to be gone
    blind: bool = False

    def saw(self, view: str, order_id: str, item_ids: list[str]) -> None:
        """Note a sale read in the answer `view`."""
        self.listed[view].add(order_id)
        self.items.update(item_ids)

    def saw_unreadable(self, order_id: str | None) -> None:
        """Note a sale the answer held but that could not be read."""
        if order_id is None:
            self.blind = True
        else:
            self.unreadable.add(order_id)


def vanished(
    view: PollView, stored: list[order_life.AwaitingItem], *, since: date, now: datetime
) -> dict[str, list[Seen]]:
    """Return, per order, the awaiting items the poll no longer saw, as changes to CANCELLED."""
    if view.blind:
        return {}
    # a sale bought before this could be accepted and still not be in getcurrentsales
    shown_from = datetime.combine(since, time(), UTC) + timedelta(days=1)
    gone: dict[str, list[Seen]] = defaultdict(list)
    for item in stored:
        if item.item_id in view.items or item.order_id in view.unreadable or item.ordered_at < shown_from:
            continue
        reason = _reason(view, item, now)
        gone[item.order_id].append(Seen(item.item_id, "CANCELLED", reason, if_status_in=AWAITING_ACCEPTANCE))
    return dict(gone)


def _reason(view: PollView, item: order_life.AwaitingItem, now: datetime) -> StatusReason | None:
    if item.order_id in view.listed[NEW_SALES]:
        return "cancelled_by_buyer"
    if item.order_id in view.listed[CURRENT_SALES]:
        return None  # the sale went on without it: refused or cancelled on Rakuten's site
    return "lapsed" if now - item.ordered_at >= LAPSE_AFTER else "cancelled_by_buyer"


def settle(
    ctx: Context,
    current: Integration,
    view: PollView,
    *,
    since: date,
    holds: Callable[[psycopg.Connection[Any]], bool] | None = None,
) -> int:
    """Publish the items gone from the poll's answers before acceptance; return how many.

    `holds(conn)`, when given, is checked in each transaction first: a poll that
    lost its claim records nothing.
    """
    with ctx.pool.connection() as conn:
        stored = order_life.awaiting_items(conn, current.integration_id, AWAITING_ACCEPTANCE)
    gone = vanished(view, stored, since=since, now=datetime.now(UTC))
    count = 0
    for order_id, seen in gone.items():
        with ctx.pool.connection() as conn, conn.transaction():
            if holds is not None and not holds(conn):
                return count
            event = record(conn, current, order_id, seen)
            if event is not None:
                count += len(event["data"]["changes"])
    METRICS.order_changes.inc(count)
    return count
