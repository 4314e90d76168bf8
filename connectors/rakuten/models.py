"""Immutable values the Rakuten client returns: credentials, sales and import reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

__all__ = [
    "Address",
    "Credentials",
    "ImportReport",
    "ImportStatus",
    "Money",
    "PickupPoint",
    "ReportLineFailure",
    "Sale",
    "SaleFailure",
    "SaleItem",
    "SalesBatch",
    "SkuError",
]


@dataclass(frozen=True)
class Credentials:
    """A seller's web service credentials, passed to every client call.

    ``login`` is the seller's login (shop pseudo); ``token`` is the "Token API" sent as
    ``pwd``. Both are kept exactly as given (the caller strips them). The token is left
    out of the repr.
    """

    login: str
    token: str = field(repr=False)


@dataclass(frozen=True)
class Money:
    """An amount with its ISO 4217 currency (``EUR`` when Rakuten omits it)."""

    amount: Decimal
    currency: str = "EUR"


@dataclass(frozen=True)
class Address:
    """A postal address from a sale, every text stripped and empty values as ``None``.

    ``country_code`` comes from ``countryalpha2`` with ``FX`` (metropolitan France)
    mapped to ``FR``; ``phone`` is ``phonenumber1``, else ``phonenumber2``; ``state``
    appears on some foreign addresses.
    """

    civility: str | None
    first_name: str | None
    last_name: str | None
    line1: str | None
    line2: str | None
    zip_code: str | None
    city: str | None
    country: str | None
    country_code: str | None
    phone: str | None
    state: str | None = None


@dataclass(frozen=True)
class PickupPoint:
    """A relay (collection point) the buyer picks the parcel up from.

    ``civility``, ``first_name`` and ``last_name`` name the buyer who collects it;
    ``country`` is the country name as Rakuten wrote it.
    """

    id: str | None
    name: str | None
    line1: str | None
    line2: str | None
    zip_code: str | None
    city: str | None
    country_code: str | None
    civility: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    country: str | None = None


@dataclass(frozen=True)
class SaleItem:
    """One unit sold: Rakuten has no quantity, N units of one advert are N items.

    ``status`` (e.g. ``TO_CONFIRM``, ``ACCEPTED``, ``CANCELLED``) and ``payment_status``
    are upper-cased. ``price`` is the sale price (``price``, else ``advertpricelisted``);
    ``listed_price`` is the advert's listed price.
    """

    item_id: str
    sku: str | None
    advert_id: str | None
    title: str | None
    status: str
    payment_status: str | None
    is_nego: bool
    is_preorder: bool
    price: Money
    listed_price: Money | None


@dataclass(frozen=True)
class Sale:
    """A purchase (order) and its items; ``purchased_at`` is an aware UTC datetime."""

    purchase_id: str
    purchased_at: datetime
    shipping_type: str | None
    buyer_login: str | None
    buyer_email: str | None
    delivery_address: Address | None
    billing_address: Address | None
    pickup_point: PickupPoint | None
    items: tuple[SaleItem, ...]


@dataclass(frozen=True)
class SaleFailure:
    """A sale of an answer that could not be read: skipped, while the others are returned.

    ``purchase_id`` is ``None`` when it cannot be read either. ``field`` says where, as
    a path inside the sale (``purchasedate``, ``items/item[2]/price/amount``), and
    ``reason`` why (``missing``, ``not a number``, ``not a date``...); neither quotes the
    value, which may be a buyer's data, so both may go in logs and events.
    """

    purchase_id: str | None
    field: str
    reason: str

    @property
    def detail(self) -> str:
        """The field and the reason in one short text, e.g. ``purchasedate: not a date``."""
        return f"{self.field}: {self.reason}"


@dataclass(frozen=True)
class SalesBatch:
    """Some sales of an answer, read in document order, and the ones that could not be."""

    sales: list[Sale]
    failures: list[SaleFailure]


class ImportStatus(StrEnum):
    """Where Rakuten is with a stock file: keep polling while ``PENDING``."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class SkuError:
    """One error Rakuten reported for one line (SKU) of a stock file."""

    sku: str
    error_code: str | None
    error_text: str | None
    error_key: str | None
    fatal: bool | None


@dataclass(frozen=True)
class ReportLineFailure:
    """A product line of an import report that could not be read, skipped from ``errors``.

    ``line`` counts the product lines of the report from 1, over every page; ``sku`` is
    ``None`` when it cannot be read; ``field`` and ``reason`` as in :class:`SaleFailure`.
    """

    line: int
    sku: str | None
    field: str
    reason: str

    @property
    def detail(self) -> str:
        """The field and the reason in one short text."""
        return f"{self.field}: {self.reason}"


@dataclass(frozen=True)
class ImportReport:
    """The processing report of a stock file, all pages merged.

    ``status_label`` is Rakuten's French label; ``total_lines`` and ``error_lines`` count
    the whole file; ``errors`` holds one entry per error of every line read, and
    ``unreadable`` the product lines that could not be read (the others are all kept).
    """

    import_id: str
    status: ImportStatus
    status_label: str | None
    errors: tuple[SkuError, ...]
    total_lines: int | None
    error_lines: int | None
    unreadable: tuple[ReportLineFailure, ...] = ()
