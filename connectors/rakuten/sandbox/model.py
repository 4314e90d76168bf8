"""In-memory records held by the sandbox: sellers, listings, sales, stock imports, faults."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

#: Item statuses that put a sale in getnewsales (PL treats REMINDED as new too).
AWAITING_STATUSES = frozenset({"TO_CONFIRM", "REQUESTED", "REMINDED"})
#: Statuses only an accepted item reaches (rakuten-api.md §8b): seeding or setting one marks
#: the item accepted. LAPSED is the sandbox's own name for a sale left unaccepted too long.
ACCEPTED_STATUSES = frozenset({"ACCEPTED", "PENDING", "PENDING_CLAIM", "CLOSED"})

#: Report status labels, as Rakuten spells them (the apostrophe is typographic).
STATUS_PENDING = "En attente"
STATUS_DONE = "Traité"
STATUS_NO_LINE = "Aucune ligne n\u2019a été chargée"

#: Paths of the sale's elements whose text corrupt_sale can replace (in every item for item fields).
CORRUPTIBLE = frozenset({"purchaseid", "purchasedate", "itemid", "itemstatus", "price/amount"})

#: Fault kinds accepted by inject_fault.
FAULT_KINDS = frozenset({"http500", "hang", "malformed", "quota", "billion_laughs", "huge", "raw"})


@dataclass
class Config:
    """Tunable behaviour of the sandbox, changed through /_sandbox/config."""

    file_min_interval_s: float = 0.0  #: seconds between two accepted stock files per seller
    import_delay_s: float = 0.2  #: seconds a stock file stays "En attente"
    sales_page_size: int = 100  #: sales per getcurrentsales page
    report_page_size: int = 100  #: product lines per genericimportreport page
    error_http_status: int = 200  #: HTTP status sent with an errorresponse
    reaccept: str = "error"  #: acceptsale on a non-awaiting item: "error" or "accepted"

    def as_dict(self) -> dict[str, Any]:
        """Return the configuration as JSON-ready values."""
        return dict(vars(self))


@dataclass(frozen=True)
class Tracking:
    """The shipment Rakuten was told of for one item, and by which call."""

    transporter_name: str
    tracking_number: str
    tracking_url: str
    via: str  #: settrackingpackageinfos or importitemshippingstatus

    def as_dict(self) -> dict[str, str]:
        """Return the tracking as JSON-ready values."""
        return dict(vars(self))


@dataclass
class Item:
    """One sold unit (Rakuten has no quantity: N units are N items) and where it is in its life.

    `was_accepted` tells a cancellation after acceptance from one before; `hidden` marks a
    buyer's cancellation before acceptance that left getnewsales instead of showing
    CANCELLED; `causes` are its to-do list causes; `claim_from` the status a claim left.
    """

    item_id: str
    sku: str
    advert_id: str
    title: str
    price: str
    currency: str
    status: str
    payment_status: str
    is_nego: bool
    is_preorder: bool
    was_accepted: bool = False
    hidden: bool = False
    tracking: Tracking | None = None
    causes: set[str] = field(default_factory=set)
    claim_from: str | None = None
    cancel_comment: str | None = None


@dataclass
class Sale:
    """One purchase and its items; `views` caches the rendered <sale> fragment per call.

    `seq` orders the seller's sales for paging; `listed_new` is cleared when the sale
    leaves getnewsales for good (it lapsed).
    """

    purchase_id: str
    purchased_at: dt.datetime  #: Paris local time, naive
    shipping_type: str
    layout: str
    buyer: dict[str, str]
    relay: dict[str, str]
    items: list[Item]
    seq: int = 0
    listed_new: bool = True
    views: dict[str, bytes] = field(default_factory=dict)
    #: element path -> the text served there instead of the real value (an unreadable sale)
    corrupt: dict[str, str] = field(default_factory=dict)

    def awaits_acceptance(self) -> bool:
        """Return True when at least one item still waits for the seller's acceptance."""
        return any(item.status in AWAITING_STATUSES for item in self.items)

    def touch(self) -> None:
        """Forget the rendered fragments after a change of the sale or one of its items."""
        self.views.clear()


@dataclass
class StockLine:
    """One advert of an uploaded stock file; qty is None when it was not an integer."""

    sku: str
    qty: int | None


@dataclass
class LineResult:
    """The outcome of one stock line once the file is processed."""

    sku: str
    advert_id: str | None
    error_code: str | None = None
    error_key: str = ""
    error_text: str = ""


@dataclass
class StockImport:
    """A received genericimportfile upload and, once processed, its per-line results."""

    import_id: str
    filename: str
    received_at: dt.datetime
    due_at: dt.datetime
    size_bytes: int
    lines: list[StockLine]
    status: str = STATUS_PENDING
    processed_at: dt.datetime | None = None
    results: list[LineResult] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Return the import as JSON-ready values for the control API."""
        return {
            "import_id": self.import_id,
            "filename": self.filename,
            "received_at": self.received_at.isoformat(),
            "lines": [[line.sku, line.qty] for line in self.lines],
            "status": self.status,
            "size_bytes": self.size_bytes,
        }


@dataclass
class Fault:
    """A misbehaviour served instead of (or before) the next `count` matching calls."""

    kind: str
    count: int = 1
    actions: frozenset[str] | None = None
    hang_s: float = 30.0
    size_mb: float = 1.0
    body: bytes = b""
    content_type: str = "text/xml;charset=ISO-8859-1"
    status: int | None = None

    def matches(self, action: str) -> bool:
        """Return True when this fault applies to a call of `action`."""
        return self.count > 0 and (self.actions is None or action in self.actions)


@dataclass
class Seller:
    """A seller account with its listings, sales, stock imports and pending faults."""

    login: str
    token: str
    seller_id: str
    pro: bool = True
    listings: dict[str, int] = field(default_factory=dict)
    advert_ids: dict[str, str] = field(default_factory=dict)
    reject_skus: set[str] = field(default_factory=set)
    sales: dict[str, Sale] = field(default_factory=dict)
    items: dict[str, tuple[Sale, Item]] = field(default_factory=dict)
    imports: dict[str, StockImport] = field(default_factory=dict)
    last_file_at: dt.datetime | None = None
    faults: list[Fault] = field(default_factory=list)


@dataclass(frozen=True)
class LogEntry:
    """One served request; never holds the token."""

    time: str
    method: str
    path: str
    action: str
    login: str
    status: int
    error_code: str
    item_id: str = ""

    def as_dict(self) -> dict[str, Any]:
        """Return the entry as JSON-ready values."""
        return dict(vars(self))
