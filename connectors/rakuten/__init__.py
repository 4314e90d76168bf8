"""Rakuten France seller web services: a small client library with one front door.

Everything the rest of the project needs is re-exported here; the modules behind it
(and httpx, and the XML parsing) are implementation details.
"""

from __future__ import annotations

from .client import RakutenClient
from .errors import (
    RakutenAuthError,
    RakutenError,
    RakutenInsufficientRights,
    RakutenRateLimited,
    RakutenRejected,
    RakutenResponseInvalid,
    RakutenUnavailable,
)
from .files import DEFAULT_MAX_FILE_BYTES, build_stock_files
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
from .sales_stream import SalesAnswer, SalesPage, parse_sales

__all__ = [
    "DEFAULT_MAX_FILE_BYTES",
    "Address",
    "Credentials",
    "ImportReport",
    "ImportStatus",
    "Money",
    "PickupPoint",
    "RakutenAuthError",
    "RakutenClient",
    "RakutenError",
    "RakutenInsufficientRights",
    "RakutenRateLimited",
    "RakutenRejected",
    "RakutenResponseInvalid",
    "RakutenUnavailable",
    "ReportLineFailure",
    "Sale",
    "SaleFailure",
    "SaleItem",
    "SalesAnswer",
    "SalesBatch",
    "SalesPage",
    "SkuError",
    "build_stock_files",
    "paris_to_utc",
    "parse_report_page",
    "parse_sales",
]
