"""The `data` of every outbound event of CONTRACT §1.2, as models.

The builders (`events.outbound`, `events.outbound_orders`) fill these models, so
an event that does not match its published schema fails where it is built. The
JSON Schemas and the AsyncAPI document are generated from them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from events.order_payload import PAYLOAD_CONFIG, Order
from events.timestamps import UtcTime

VerificationFailure = Literal["invalid_credentials", "insufficient_rights", "rakuten_unavailable"]
ShipmentFailure = Literal["unknown_order", "tracking_url_required", "not_shippable", "rejected"]
CancellationFailure = Literal["unknown_order", "not_cancellable", "rejected"]
ItemIds = Annotated[list[str], Field(description="Rakuten `itemid`s.")]
Detail = Annotated[str, Field(description="Human readable; never contains a token.")]


class OutboundData(BaseModel):
    """The fields every outbound event names: whose integration it is about."""

    model_config = PAYLOAD_CONFIG

    integration_id: Annotated[str, Field(description="The install service's id of the integration.")]
    account_id: Annotated[str, Field(description="The merchant (tenant) that owns it.")]
    app: Literal["rakuten"]


class IntegrationVerifiedData(OutboundData):
    """The data of `integration.verified`: the credentials work."""

    seller_id: str
    rakuten_seller_id: Annotated[str, Field(description="The numeric id Rakuten returns, as a string.")]
    verified_at: UtcTime


class VerificationFailedData(OutboundData):
    """The data of `integration.verification_failed`: the credentials do not work, or Rakuten is away."""

    reason: VerificationFailure
    detail: Detail


class OrderImportedData(OutboundData):
    """The data of `order.imported`: one Rakuten order (purchase), once."""

    order: Order


class StockSyncFailedData(OutboundData):
    """The data of `stock.sync_failed`: Rakuten rejected a SKU's line in an import report."""

    sku: str
    quantity: int
    import_id: str
    error_code: str | None
    error_text: str | None


class OrderImportFailedData(OutboundData):
    """The data of `order.import_failed`: a sale in a Rakuten answer could not be read."""

    order_id: Annotated[str | None, Field(description="The `purchaseid`; null when it cannot be read.")]
    reason: Literal["unreadable_sale"]
    detail: Annotated[str, Field(description="Which field and why; never contains a token.")]


class ItemChange(BaseModel):
    """One item of an order that changed on Rakuten."""

    model_config = PAYLOAD_CONFIG

    item_id: str
    from_status: Annotated[str | None, Field(description="Null for an added item.")]
    to_status: str


class OrderUpdatedData(OutboundData):
    """The data of `order.updated`: a known order changed on Rakuten."""

    order: Annotated[Order, Field(description="The whole order now.")]
    changes: list[ItemChange]


class ShipmentConfirmedData(OutboundData):
    """The data of `order.shipment_confirmed`: Rakuten took a shipment for these items."""

    order_id: str
    item_ids: Annotated[list[str], Field(description="The items Rakuten took.")]
    carrier: Annotated[str, Field(description="The transporter name sent to Rakuten.")]
    tracking_number: str | None


class ShipmentFailedData(OutboundData):
    """The data of `order.shipment_failed`: a shipment could not be told to Rakuten for these items."""

    order_id: str
    item_ids: Annotated[list[str], Field(description="The items that failed.")]
    reason: ShipmentFailure
    detail: Annotated[str | None, Field(description="Rakuten's own text where it gave one.")]


class CancellationFailedData(OutboundData):
    """The data of `order.cancellation_failed`: a cancellation could not be carried out for these items."""

    order_id: str
    item_ids: ItemIds
    reason: CancellationFailure
    detail: Annotated[str | None, Field(description="Rakuten's own text where it gave one.")]


class AttentionRequiredData(OutboundData):
    """The data of `order.attention_required`: an item's causes on Rakuten's to-do list changed."""

    order_id: Annotated[str | None, Field(description="Null when Rakuten gives only the item.")]
    item_id: str
    causes: Annotated[
        list[str],
        Field(
            description="e.g. `CLAIM`, `UNREAD_MESSAGE_FROM_BUYER`, `UNREAD_MESSAGE_FROM_CUSTOMER_SERVICE`;"
            " empty when the item left the list."
        ),
    ]


class OutboundEnvelope(BaseModel):
    """The CloudEvents attributes of every outbound event (`events.outbound.cloudevent`)."""

    model_config = PAYLOAD_CONFIG

    specversion: Literal["1.0"]
    id: Annotated[
        str,
        Field(
            description="A uuid5 of the fact reported: a re-publication has the same id; deduplicate on it.",
            json_schema_extra={"format": "uuid"},
        ),
    ]
    source: Literal["rakuten-connector"]
    type: str
    time: UtcTime
    datacontenttype: Literal["application/json"]
    data: dict[str, Any]
