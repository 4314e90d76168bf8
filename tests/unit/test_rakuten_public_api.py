"""The package's front door: ``__all__`` is exactly the public surface."""

from __future__ import annotations

import dataclasses
import pickle
from types import ModuleType

import connectors.rakuten as rakuten
from connectors.rakuten import Credentials, RakutenRejected

EXPECTED_PUBLIC_NAMES = {
    "RakutenClient",
    "Credentials",
    "Sale",
    "SaleItem",
    "SaleFailure",
    "SalesAnswer",
    "SalesBatch",
    "SalesPage",
    "ReportLineFailure",
    "Address",
    "PickupPoint",
    "Money",
    "ImportReport",
    "ImportStatus",
    "SkuError",
    "build_stock_files",
    "DEFAULT_MAX_FILE_BYTES",
    "RakutenError",
    "RakutenUnavailable",
    "RakutenRateLimited",
    "RakutenRejected",
    "RakutenAuthError",
    "RakutenInsufficientRights",
    "RakutenResponseInvalid",
    "parse_sales",
    "parse_report_page",
    "paris_to_utc",
}


def test_all_lists_exactly_the_documented_public_names() -> None:
    assert sorted(rakuten.__all__) == sorted(EXPECTED_PUBLIC_NAMES)
    assert len(rakuten.__all__) == len(set(rakuten.__all__))


def test_every_public_non_module_attribute_is_exported_and_every_export_exists() -> None:
    public = {
        name
        for name, value in vars(rakuten).items()
        if not name.startswith("_") and not isinstance(value, ModuleType)
        and name != "annotations"
    }
    assert public == set(rakuten.__all__)


def test_credentials_repr_hides_the_token_and_keeps_values_as_given() -> None:
    creds = Credentials(login=" shop ", token=" tok-123 ")
    assert "tok-123" not in repr(creds)
    assert creds.login == " shop " and creds.token == " tok-123 "
    assert dataclasses.is_dataclass(creds)


def test_rejected_error_survives_pickling_with_its_attributes() -> None:
    error = RakutenRejected("ParameterError", "Problem with parameters.", "bad itemid", "acceptsale")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.code, copy.message, copy.detail, copy.action) == (
        "ParameterError",
        "Problem with parameters.",
        "bad itemid",
        "acceptsale",
    )
    assert str(copy) == str(error)
