"""The `order` object of `order.imported` and `order.updated` (CONTRACT §1.2), as models.

The worker builds the object from a parsed sale (`workers.order_mapping`); these
models are its published shape: the JSON Schemas and the AsyncAPI document are
generated from them, and the builders check every order against them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from events.timestamps import UtcTime


def _tolerant(schema: dict[str, Any]) -> None:
    # Consumers must accept fields added later, so the published schema does not
    # forbid them; the models do, so the builders never add one unannounced.
    schema.pop("additionalProperties", None)


#: Our own payloads: exact fields, nothing unknown, values of the right type.
PAYLOAD_CONFIG = ConfigDict(
    extra="forbid", frozen=True, json_schema_serialization_defaults_required=True, json_schema_extra=_tolerant
)
Text = str | None
#: A decimal number as a string, so no consumer reads it through a binary float.
DecimalText = Annotated[str, Field(pattern=r"^-?\d+(\.\d+)?$", examples=["12.50"])]
#: Why an item ended, when this service knows it (`CANCELLED` alone does not say who cancelled).
StatusReason = Literal["cancelled_by_buyer", "cancelled_by_seller", "lapsed"]


class Money(BaseModel):
    """An amount of money."""

    model_config = PAYLOAD_CONFIG

    amount: DecimalText
    currency: Annotated[str, Field(description="ISO 4217 code, e.g. `EUR`.")]


class Address(BaseModel):
    """A postal address; every text trimmed, a value Rakuten leaves empty is null."""

    model_config = PAYLOAD_CONFIG

    civility: Text
    first_name: Text
    last_name: Text
    line1: Text
    line2: Text
    zip_code: Text
    city: Text
    country: Text
    country_code: Annotated[Text, Field(description="ISO 3166-1 alpha-2 (Rakuten's `FX` given as `FR`).")]
    phone: Text


class PickupPoint(BaseModel):
    """A relay or locker the parcel goes to."""

    model_config = PAYLOAD_CONFIG

    id: Text
    name: Text
    line1: Text
    line2: Text
    zip_code: Text
    city: Text
    country_code: Text


class Buyer(BaseModel):
    """The buyer as Rakuten names them."""

    model_config = PAYLOAD_CONFIG

    login: Text
    email: Text


class Shipping(BaseModel):
    """How the order is delivered."""

    model_config = PAYLOAD_CONFIG

    type: Annotated[Text, Field(description="Rakuten's label of the shipping mode.")]
    address: Annotated[
        Address | None, Field(description="The delivery address, else the billing address.")
    ]
    pickup_point: PickupPoint | None


class OrderItem(BaseModel):
    """One unit sold (Rakuten has no quantity: N units are N items)."""

    model_config = PAYLOAD_CONFIG

    item_id: Annotated[str, Field(description="Rakuten `itemid`.")]
    sku: Annotated[Text, Field(description="The merchant's reference; null when the listing has none.")]
    advert_id: Text
    title: Text
    status: Annotated[
        str, Field(description="Rakuten's item status, upper case: `TO_CONFIRM`, `ACCEPTED`, `CANCELLED`...")
    ]
    quantity: Literal[1]
    unit_price: Money
    status_reason: Annotated[
        StatusReason | None,
        Field(
            description="Why the item ended, when known: `cancelled_by_buyer` (shown cancelled before"
            " acceptance, or gone from the new sales before they lapse), `lapsed` (not accepted in time),"
            " `cancelled_by_seller` (the merchant's `order.cancel_requested`); null otherwise."
        ),
    ] = None


class Order(BaseModel):
    """A Rakuten order (purchase) as the platform receives it."""

    model_config = PAYLOAD_CONFIG

    order_id: Annotated[str, Field(description="Rakuten `purchaseid`.")]
    ordered_at: UtcTime
    status: Annotated[
        Literal["new", "accepted"],
        Field(description="`new` while an item awaits the seller's acceptance, else `accepted`."),
    ]
    buyer: Buyer
    shipping: Shipping
    billing_address: Address | None
    items: list[OrderItem]
    total: Annotated[Money, Field(description="The sum of the items.")]
