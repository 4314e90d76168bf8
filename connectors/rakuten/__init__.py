"""Rakuten France seller web services: a small client library with one front door.

Everything the rest of the project needs is re-exported here; the modules behind it
(and httpx, and the XML parsing) are implementation details.
"""

from __future__ import annotations

from .carriers import OTHER_TRANSPORTER, TRANSPORTERS, normalise_carrier
from .client import RakutenClient
from .client_lifecycle import MAX_CANCEL_COMMENT_CHARS
from .errors import (
    RakutenAlreadyAccepted,
    RakutenAuthError,
    RakutenError,
    RakutenInsufficientRights,
    RakutenItemStateError,
    RakutenNotCancellable,
    RakutenNotShippable,
    RakutenRateLimited,
    RakutenRejected,
    RakutenResponseInvalid,
    RakutenUnavailable,
    RakutenUnknownItem,
)
from .files import DEFAULT_MAX_FILE_BYTES, build_stock_files
from .lifecycle_models import (
    CancellationResult,
    RefusalResult,
    ShipmentLine,
    ShipmentLineResult,
    ShipmentOutcome,
    ShippingImportResult,
    TodoCause,
    TodoItem,
    TrackingResult,
)
from .models import (
    Address,
    Credentials,
    ImportReport,
    ImportStatus,
    Money,
    PickupPoint,
    ReportLineFailure,
    Sale,
    SaleFailure,
    SaleItem,
    SalesBatch,
    SkuError,
)
from .parse_report import parse_report_page
from .parse_sales import paris_to_utc
from .parse_todo import parse_todo_list
from .sales_stream import SalesAnswer, SalesPage, parse_sales
from .shipping_file import build_shipping_status_file

__all__ = [
    "DEFAULT_MAX_FILE_BYTES",
    "MAX_CANCEL_COMMENT_CHARS",
    "OTHER_TRANSPORTER",
    "TRANSPORTERS",
    "Address",
    "CancellationResult",
    "Credentials",
    "ImportReport",
    "ImportStatus",
    "Money",
    "PickupPoint",
    "RakutenAlreadyAccepted",
    "RakutenAuthError",
    "RakutenClient",
    "RakutenError",
    "RakutenInsufficientRights",
    "RakutenItemStateError",
    "RakutenNotCancellable",
    "RakutenNotShippable",
    "RakutenRateLimited",
    "RakutenRejected",
    "RakutenResponseInvalid",
    "RakutenUnavailable",
    "RakutenUnknownItem",
    "RefusalResult",
    "ReportLineFailure",
    "Sale",
    "SaleFailure",
    "SaleItem",
    "ShipmentLine",
    "ShipmentLineResult",
    "ShipmentOutcome",
    "ShippingImportResult",
    "SalesAnswer",
    "SalesBatch",
    "SalesPage",
    "SkuError",
    "TodoCause",
    "TodoItem",
    "TrackingResult",
    "build_shipping_status_file",
    "build_stock_files",
    "normalise_carrier",
    "paris_to_utc",
    "parse_report_page",
    "parse_sales",
    "parse_todo_list",
]
