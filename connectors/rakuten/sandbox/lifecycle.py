"""An item's life in the sandbox: what each call shows of it, and how it moves on.

The views follow rakuten-api.md §8b's table of item statuses per call:

==========================================  ==============  ===============
item                                        getnewsales     getcurrentsales
==========================================  ==============  ===============
awaiting acceptance                         TO_CONFIRM      -
cancelled by the buyer before acceptance    CANCELLED [1]   -
refused by the seller                       REFUSED         -
accepted (shipped or not)                   ACCEPTED        ACCEPTED
pre-order awaiting stock                    -               PENDING
claim open                                  -               PENDING_CLAIM
cancelled after acceptance                  -               CANCELLED
lapsed, closed                              -               -
==========================================  ==============  ===============

[1] or the item vanishes (`hidden`). A sale is in getnewsales while an item awaits
acceptance, or while none was ever accepted and it still shows an item (a refusal, a
cancellation), until it lapses; otherwise it is in getcurrentsales when it shows an item
there. So the two lists never hold the same sale. There is no SHIPPED status: a shipped
item stays ACCEPTED and only gains its tracking.
"""

from __future__ import annotations

from connectors.rakuten.sandbox import ws_errors
from connectors.rakuten.sandbox.model import ACCEPTED_STATUSES, AWAITING_STATUSES, Item, Sale, Tracking
from connectors.rakuten.sandbox.seed import SeedError

NEW_VIEW = "getnewsales"
CURRENT_VIEW = "getcurrentsales"
LAPSED = "LAPSED"
CAUSE_CLAIM = "CLAIM"
#: Message senders of the control API -> to-do list cause.
MESSAGE_CAUSES = {
    "buyer": "UNREAD_MESSAGE_FROM_BUYER",
    "customer_service": "UNREAD_MESSAGE_FROM_CUSTOMER_SERVICE",
}
#: Statuses a claim may end in: back to accepted, finished, or refunded.
CLAIM_ENDINGS = frozenset({"ACCEPTED", "CLOSED", "CANCELLED"})


class ItemConflict(SeedError):
    """Raised when a control call asks for a change the item's status does not allow."""


def new_status(item: Item) -> str | None:
    """Return the status getnewsales shows for the item, or None when it leaves it out."""
    if item.status in AWAITING_STATUSES or item.status in ("ACCEPTED", "REFUSED"):
        return item.status
    if item.status == "CANCELLED" and not item.hidden and not item.was_accepted:
        return item.status
    return None


def current_status(item: Item) -> str | None:
    """Return the status getcurrentsales shows for the item, or None when it leaves it out."""
    if item.status in ("ACCEPTED", "PENDING", "PENDING_CLAIM"):
        return item.status
    if item.status == "CANCELLED" and item.was_accepted:
        return item.status
    return None


def in_new_sales(sale: Sale) -> bool:
    """Return True when getnewsales lists the sale."""
    if not sale.listed_new:
        return False
    if sale.awaits_acceptance():
        return True
    never_accepted = not any(item.was_accepted for item in sale.items)
    return never_accepted and any(new_status(item) for item in sale.items)


def in_current_sales(sale: Sale) -> bool:
    """Return True when getcurrentsales lists the sale."""
    return not sale.awaits_acceptance() and any(current_status(item) for item in sale.items)


def view_status(view: str, item: Item) -> str | None:
    """Return the status the given call shows for the item."""
    return new_status(item) if view == NEW_VIEW else current_status(item)


def _internal(item: Item) -> str:
    """Return the item's status as Rakuten's refusal texts name it (CAPTURED, EMPTIED...)."""
    if item.status in AWAITING_STATUSES:
        return "REQUESTED"
    if item.status in ("ACCEPTED", "PENDING", "PENDING_CLAIM"):
        return "CAPTURED"
    if item.status in ("CANCELLED", LAPSED):
        return "EMPTIED"
    return item.status


def _set(sale: Sale, item: Item, status: str) -> None:
    item.status = status
    item.was_accepted = item.was_accepted or status in ACCEPTED_STATUSES
    sale.touch()


def set_status(sale: Sale, item: Item, status: str) -> None:
    """Set any status as is (the control API's low-level override)."""
    _set(sale, item, status)


def refuse(sale: Sale, item: Item) -> None:
    """Refuse an item awaiting acceptance (refusesale), or raise Rakuten's status error."""
    if item.status not in AWAITING_STATUSES:
        raise ws_errors.wrong_status(_internal(item), "REQUESTED")
    _set(sale, item, "REFUSED")


def cancel_by_seller(sale: Sale, item: Item, comment: str) -> None:
    """Cancel an accepted, unshipped item (cancelitem), or raise "cannot be cancelled"."""
    if item.status not in ("ACCEPTED", "PENDING") or item.tracking is not None:
        raise ws_errors.not_cancellable()
    item.cancel_comment = comment
    _set(sale, item, "CANCELLED")


def shipping_refusal(item: Item) -> str | None:
    """Return Rakuten's text refusing tracking for the item, or None when it may be shipped."""
    if item.tracking is not None:
        return ws_errors.ALREADY_SHIPPED
    if item.status != "ACCEPTED":
        return ws_errors.NOT_CONFIRMED
    return None


def ship(sale: Sale, item: Item, tracking: Tracking) -> None:
    """Record an item's tracking; it must be accepted and not shipped yet."""
    refusal = shipping_refusal(item)
    if refusal is not None:
        raise ws_errors.article(item.item_id, refusal)
    item.tracking = tracking
    sale.touch()


def buyer_cancel(sale: Sale, item: Item, *, visible: bool = True) -> None:
    """The buyer cancels: before acceptance (shown as CANCELLED, or vanishing) or after it."""
    if item.status in AWAITING_STATUSES:
        item.hidden = not visible
    elif item.status not in ("ACCEPTED", "PENDING") or item.tracking is not None:
        raise ItemConflict(f"item {item.item_id} is {item.status}{' and shipped' if item.tracking else ''}")
    _set(sale, item, "CANCELLED")


def lapse(sale: Sale) -> list[str]:
    """The sale leaves getnewsales: its items still awaiting acceptance lapse; return their ids."""
    lapsed = [item for item in sale.items if item.status in AWAITING_STATUSES]
    for item in lapsed:
        item.status = LAPSED
    sale.listed_new = False
    sale.touch()
    return [item.item_id for item in lapsed]


def open_claim(sale: Sale, item: Item) -> None:
    """The buyer opens a claim on an accepted item: PENDING_CLAIM and CLAIM on the to-do list."""
    if item.status not in ("ACCEPTED", "PENDING"):
        raise ItemConflict(f"item {item.item_id} is {item.status}: no claim can be opened")
    item.claim_from = item.status
    item.causes.add(CAUSE_CLAIM)
    _set(sale, item, "PENDING_CLAIM")


def close_claim(sale: Sale, item: Item, status: str | None = None) -> None:
    """Close the open claim: back to the status before it, or to CLOSED or CANCELLED."""
    if item.status != "PENDING_CLAIM" or item.claim_from is None:
        raise ItemConflict(f"item {item.item_id} has no open claim")
    ending = status or item.claim_from
    if ending not in CLAIM_ENDINGS:
        raise SeedError(f"a claim ends in one of {sorted(CLAIM_ENDINGS)}")
    item.claim_from = None
    item.causes.discard(CAUSE_CLAIM)
    _set(sale, item, ending)


def add_message(sale: Sale, item: Item, sender: str) -> None:
    """A message reaches the seller about the item: an unread-message cause on the to-do list."""
    if sender not in MESSAGE_CAUSES:
        raise SeedError(f"'from' must be one of {sorted(MESSAGE_CAUSES)}")
    item.causes.add(MESSAGE_CAUSES[sender])


def read_messages(sale: Sale, item: Item) -> None:
    """The seller read the item's messages on Rakuten's site: the unread causes go."""
    item.causes.difference_update(MESSAGE_CAUSES.values())
