"""Values of the calls after an order's import: shipping, refusal, cancellation, to-do list."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "CancellationResult",
    "RefusalResult",
    "ShipmentLine",
    "ShipmentLineResult",
    "ShipmentOutcome",
    "ShippingImportResult",
    "TodoCause",
    "TodoItem",
    "TrackingResult",
]


@dataclass(frozen=True)
class TrackingResult:
    """Rakuten took the tracking of one item (``settrackingpackageinfos``).

    ``already_shipped`` is true when Rakuten answered that the item was shipped already
    ("a déjà été expédié"): an earlier call got through, so this one counts as done too.
    ``detail`` is then Rakuten's text.
    """

    item_id: str
    already_shipped: bool = False
    detail: str | None = None


@dataclass(frozen=True)
class ShipmentLine:
    """One item of an ``importitemshippingstatus`` file.

    ``tracking_number`` and ``tracking_url`` are ``None`` for shipping without tracking
    (Rakuten's "Normal", prepaid labels).
    """

    purchase_id: str
    item_id: str
    transporter_name: str
    tracking_number: str | None = None
    tracking_url: str | None = None


class ShipmentOutcome(StrEnum):
    """What became of one line of an ``importitemshippingstatus`` file."""

    SHIPPED = "shipped"  #: Rakuten took it
    ALREADY_SHIPPED = "already_shipped"  #: Rakuten had it shipped before: done all the same
    NOT_SHIPPABLE = "not_shippable"  #: the item is not accepted (yet, or any more)
    UNKNOWN_ITEM = "unknown_item"  #: Rakuten does not know the item (or its purchase)
    REJECTED = "rejected"  #: Rakuten refused the line for another reason, given in ``detail``
    #: Rakuten refused the file over other lines; whether this one was applied is unknown, so
    #: it is to be sent again (an applied line then answers "already shipped").
    NOT_CONFIRMED = "not_confirmed"


@dataclass(frozen=True)
class ShipmentLineResult:
    """The outcome of one line; ``detail`` is Rakuten's text about it, when it gave one."""

    item_id: str
    outcome: ShipmentOutcome
    detail: str | None = None

    @property
    def confirmed(self) -> bool:
        """True when Rakuten has the item shipped (now or before)."""
        return self.outcome in (ShipmentOutcome.SHIPPED, ShipmentOutcome.ALREADY_SHIPPED)


@dataclass(frozen=True)
class ShippingImportResult:
    """The outcome of an ``importitemshippingstatus`` file: one result per line, in file order."""

    lines: tuple[ShipmentLineResult, ...]

    @property
    def by_item(self) -> Mapping[str, ShipmentLineResult]:
        """The line results keyed by item id."""
        return {line.item_id: line for line in self.lines}


@dataclass(frozen=True)
class RefusalResult:
    """Rakuten refused the sale of one item on the seller's behalf (``refusesale``).

    ``already_refused`` is true when Rakuten answered that the item was refused before
    (an earlier call got through); ``detail`` is then Rakuten's text.
    """

    item_id: str
    already_refused: bool = False
    detail: str | None = None


@dataclass(frozen=True)
class CancellationResult:
    """Rakuten cancelled one accepted item (``cancelitem`` answered ``CANCELLED``)."""

    item_id: str


class TodoCause(StrEnum):
    """Why Rakuten's to-do list holds an item; other causes are kept as Rakuten spells them."""

    CLAIM = "CLAIM"
    UNREAD_MESSAGE_FROM_BUYER = "UNREAD_MESSAGE_FROM_BUYER"
    UNREAD_MESSAGE_FROM_CUSTOMER_SERVICE = "UNREAD_MESSAGE_FROM_CUSTOMER_SERVICE"


@dataclass(frozen=True)
class TodoItem:
    """An item on the seller's to-do list with its causes (upper case).

    ``purchase_id`` is ``None`` when Rakuten gives only the item, as in every sample seen.
    """

    item_id: str
    causes: frozenset[str]
    purchase_id: str | None = None
