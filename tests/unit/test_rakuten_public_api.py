"""The package's front door: ``__all__`` is exactly the public surface."""

from __future__ import annotations

import dataclasses
import pickle
from types import ModuleType

import connectors.rakuten as rakuten
from connectors.rakuten import (
    Credentials,
    RakutenAlreadyAccepted,
    RakutenItemStateError,
    RakutenNotCancellable,
    RakutenRejected,
)

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
    # after the import: shipping, refusal, cancellation, to-do list
    "TrackingResult",
    "ShipmentLine",
    "ShipmentLineResult",
    "ShipmentOutcome",
    "ShippingImportResult",
    "RefusalResult",
    "CancellationResult",
    "TodoCause",
    "TodoItem",
    "RakutenUnknownItem",
    "RakutenItemStateError",
    "RakutenNotShippable",
    "RakutenAlreadyAccepted",
    "RakutenNotCancellable",
    "normalise_carrier",
    "TRANSPORTERS",
    "OTHER_TRANSPORTER",
    "MAX_CANCEL_COMMENT_CHARS",
    "build_shipping_status_file",
    "parse_todo_list",
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


def test_item_state_error_survives_pickling_with_the_statuses_rakuten_named() -> None:
    error = RakutenAlreadyAccepted(
        "ParameterError", "Problem with parameters.", "Current status : CAPTURED", "refusesale",
        "CAPTURED", "REQUESTED",
    )
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is RakutenAlreadyAccepted
    assert (copy.current_status, copy.required_status, copy.action) == ("CAPTURED", "REQUESTED", "refusesale")
    assert str(copy) == str(error)


def test_item_errors_are_final_rejections_under_one_state_error_class() -> None:
    assert issubclass(RakutenNotCancellable, RakutenItemStateError)
    assert issubclass(RakutenItemStateError, RakutenRejected)
