"""Outbound CloudEvents of CONTRACT §1.2, as JSON-ready dicts for the outbox.

Every id is a uuid5 of the fact the event reports, so publishing the same fact
again (after a crash, a retry, a second worker) carries the same id. The data
goes through its model (`events.outbound_data`), so what is built is what the
published schema says. The builders of the events after the import are in
`events.outbound_orders`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from events.outbound_data import (
    IntegrationVerifiedData,
    OutboundData,
    StockSyncFailedData,
    VerificationFailedData,
)
from events.outbound_data import VerificationFailure as VerificationFailure
from events.timestamps import rfc3339 as rfc3339

SOURCE = "rakuten-connector"
APP: Literal["rakuten"] = "rakuten"
CONTENT_TYPE = "application/cloudevents+json"  #: AMQP content type of every published event
INTEGRATION_VERIFIED = "integration.verified"
INTEGRATION_VERIFICATION_FAILED = "integration.verification_failed"
ORDER_IMPORTED = "order.imported"
STOCK_SYNC_FAILED = "stock.sync_failed"
ORDER_IMPORT_FAILED = "order.import_failed"
ORDER_UPDATED = "order.updated"
ORDER_SHIPMENT_CONFIRMED = "order.shipment_confirmed"
ORDER_SHIPMENT_FAILED = "order.shipment_failed"
ORDER_CANCELLATION_FAILED = "order.cancellation_failed"
ORDER_ATTENTION_REQUIRED = "order.attention_required"
#: Every outbound type of CONTRACT §1.2 (the routing keys a consumer may bind).
OUTBOUND_TYPES = (
    INTEGRATION_VERIFIED,
    INTEGRATION_VERIFICATION_FAILED,
    ORDER_IMPORTED,
    STOCK_SYNC_FAILED,
    ORDER_IMPORT_FAILED,
    ORDER_UPDATED,
    ORDER_SHIPMENT_CONFIRMED,
    ORDER_SHIPMENT_FAILED,
    ORDER_CANCELLATION_FAILED,
    ORDER_ATTENTION_REQUIRED,
)


def event_id(name: str) -> str:
    """Return the deterministic event id for a fact named `name`."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def order_event_id(integration_id: str, order_id: str) -> str:
    """Return the contract's id of `order.imported` for one Rakuten purchase."""
    return event_id(f"rakuten-order:{integration_id}:{order_id}")


def cloudevent(type_: str, id_: str, data: OutboundData | Mapping[str, Any]) -> dict[str, Any]:
    """Wrap `data` (a model, or a JSON-ready mapping) in the CloudEvents envelope of an outbound event."""
    return {
        "specversion": "1.0",
        "id": id_,
        "source": SOURCE,
        "type": type_,
        "time": rfc3339(datetime.now(UTC)),
        "datacontenttype": "application/json",
        "data": data.model_dump(mode="json") if isinstance(data, OutboundData) else dict(data),
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
    data = IntegrationVerifiedData(
        integration_id=integration_id,
        account_id=account_id,
        app=APP,
        seller_id=seller_id,
        rakuten_seller_id=rakuten_seller_id,
        verified_at=verified_at,
    )
    id_ = event_id(f"rakuten-integration-verified:{integration_id}:{credentials_version}")
    return cloudevent(INTEGRATION_VERIFIED, id_, data)


def verification_failed(
    *,
    integration_id: str,
    account_id: str,
    reason: VerificationFailure,
    detail: str,
    credentials_version: int,
) -> dict[str, Any]:
    """Build `integration.verification_failed`; `detail` must not contain the token."""
    data = VerificationFailedData(
        integration_id=integration_id, account_id=account_id, app=APP, reason=reason, detail=detail
    )
    name = f"rakuten-verification-failed:{integration_id}:{credentials_version}:{reason}"
    return cloudevent(INTEGRATION_VERIFICATION_FAILED, event_id(name), data)


def order_imported(
    *, integration_id: str, account_id: str, order: Mapping[str, Any]
) -> dict[str, Any]:
    """Build `order.imported` for one Rakuten purchase (`order` is JSON-ready).

    The order (built by `workers.order_mapping` in the shape of `Order`) is not
    validated again here: that would cost a third of the mapping per sale on the
    import's hot path; the suite checks every order it builds against the schema.
    """
    data = {"integration_id": integration_id, "account_id": account_id, "app": APP, "order": dict(order)}
    id_ = order_event_id(integration_id, str(order["order_id"]))
    return cloudevent(ORDER_IMPORTED, id_, data)


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
    data = StockSyncFailedData(
        integration_id=integration_id,
        account_id=account_id,
        app=APP,
        sku=sku,
        quantity=quantity,
        import_id=import_id,
        error_code=error_code,
        error_text=error_text,
    )
    id_ = event_id(f"rakuten-stock-sync-failed:{integration_id}:{import_id}:{sku}")
    return cloudevent(STOCK_SYNC_FAILED, id_, data)
