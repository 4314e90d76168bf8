"""Outbound CloudEvents of CONTRACT §1.2, as JSON-ready dicts for the outbox.

Every id is a uuid5 of the fact the event reports, so publishing the same fact
again (after a crash, a retry, a second worker) carries the same id.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

SOURCE = "rakuten-connector"
APP = "rakuten"
INTEGRATION_VERIFIED = "integration.verified"
INTEGRATION_VERIFICATION_FAILED = "integration.verification_failed"
ORDER_IMPORTED = "order.imported"
STOCK_SYNC_FAILED = "stock.sync_failed"
OUTBOUND_TYPES = (
    INTEGRATION_VERIFIED,
    INTEGRATION_VERIFICATION_FAILED,
    ORDER_IMPORTED,
    STOCK_SYNC_FAILED,
)

VerificationFailure = Literal["invalid_credentials", "insufficient_rights", "rakuten_unavailable"]


def rfc3339(moment: datetime) -> str:
    """Format an aware datetime as RFC 3339 in UTC (`...Z`); reject a naive one."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a naive datetime has no defined instant")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def event_id(name: str) -> str:
    """Return the deterministic event id for a fact named `name`."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def order_event_id(integration_id: str, order_id: str) -> str:
    """Return the contract's id of `order.imported` for one Rakuten purchase."""
    return event_id(f"rakuten-order:{integration_id}:{order_id}")


def _cloudevent(type_: str, id_: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": id_,
        "source": SOURCE,
        "type": type_,
        "time": rfc3339(datetime.now(UTC)),
        "datacontenttype": "application/json",
        "data": data,
    }


def integration_verified(
    *,
    integration_id: str,
    account_id: str,
    seller_id: str,
    rakuten_seller_id: str,
    verified_at: datetime,
    credentials_version: int,
) -> dict[str, Any]:
    """Build `integration.verified`: the credentials of this version work."""
    data = {
        "integration_id": integration_id,
        "account_id": account_id,
        "app": APP,
        "seller_id": seller_id,
        "rakuten_seller_id": rakuten_seller_id,
        "verified_at": rfc3339(verified_at),
    }
    id_ = event_id(f"rakuten-integration-verified:{integration_id}:{credentials_version}")
    return _cloudevent(INTEGRATION_VERIFIED, id_, data)


def verification_failed(
    *,
    integration_id: str,
    account_id: str,
    reason: VerificationFailure,
    detail: str,
    credentials_version: int,
) -> dict[str, Any]:
    """Build `integration.verification_failed`; `detail` must not contain the token."""
    data = {
        "integration_id": integration_id,
        "account_id": account_id,
        "app": APP,
        "reason": reason,
        "detail": detail,
    }
    name = f"rakuten-verification-failed:{integration_id}:{credentials_version}:{reason}"
    return _cloudevent(INTEGRATION_VERIFICATION_FAILED, event_id(name), data)


def order_imported(
    *, integration_id: str, account_id: str, order: Mapping[str, Any]
) -> dict[str, Any]:
    """Build `order.imported` for one Rakuten purchase (`order` is JSON-ready)."""
    data = {
        "integration_id": integration_id,
        "account_id": account_id,
        "app": APP,
        "order": dict(order),
    }
    id_ = order_event_id(integration_id, str(order["order_id"]))
    return _cloudevent(ORDER_IMPORTED, id_, data)


def stock_sync_failed(
    *,
    integration_id: str,
    account_id: str,
    sku: str,
    quantity: int,
    import_id: str,
    error_code: str | None,
    error_text: str | None,
) -> dict[str, Any]:
    """Build `stock.sync_failed`: Rakuten rejected a SKU's line in an import report."""
    data = {
        "integration_id": integration_id,
        "account_id": account_id,
        "app": APP,
        "sku": sku,
        "quantity": quantity,
        "import_id": import_id,
        "error_code": error_code,
        "error_text": error_text,
    }
    id_ = event_id(f"rakuten-stock-sync-failed:{integration_id}:{import_id}:{sku}")
    return _cloudevent(STOCK_SYNC_FAILED, id_, data)
