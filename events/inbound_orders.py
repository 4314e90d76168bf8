"""Inbound order events of CONTRACT §1.1: `order.shipped` and `order.cancel_requested`.

The data models validate like those of the integration events (strict types, the
app rule of `parse_inbound`, trimmed texts). A type is in `inbound.DATA_MODELS`
once a handler applies it (both do now); until then an event of that
type stays an unknown type for the ingress (a dead letter). `ORDER_DATA_MODELS`
lists them all for the contract files.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field

from events.fields import DATA_CONFIG, Id64, Rfc3339Time, strip_non_blank

ORDER_SHIPPED = "order.shipped"
ORDER_CANCEL_REQUESTED = "order.cancel_requested"
MAX_URL_CHARS = 2000  #: characters of a tracking URL (the query string of a Rakuten GET call)


def _unique(values: list[str]) -> list[str]:
    """Drop repeated ids, keeping the first of each: one item is told to Rakuten once."""
    return list(dict.fromkeys(values))


def _absolute_http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http(s) URL")
    return value


#: A Rakuten id (`purchaseid`, `itemid`) as the platform sends it back.
RakutenId = Annotated[str, Field(min_length=1, max_length=100, pattern=r"\S")]
ItemIds = Annotated[
    list[RakutenId],
    AfterValidator(_unique),
    Field(description="Rakuten `itemid`s; absent or empty: every item not cancelled or refused."),
]
Carrier = Annotated[
    str, Field(min_length=1, max_length=100, pattern=r"\S"), BeforeValidator(strip_non_blank)
]
TrackingNumber = Annotated[
    str, Field(min_length=1, max_length=100, pattern=r"\S"), BeforeValidator(strip_non_blank)
]
TrackingUrl = Annotated[
    str,
    Field(min_length=1, max_length=MAX_URL_CHARS, pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#]+\S*$"),
    AfterValidator(_absolute_http_url),
]
CancelReason = Annotated[
    str, Field(min_length=1, max_length=400, pattern=r"\S"), BeforeValidator(strip_non_blank)
]


class _OrderCommand(BaseModel):
    model_config = DATA_CONFIG

    integration_id: Id64
    account_id: Id64
    app: Literal["rakuten"]
    order_id: Annotated[RakutenId, Field(description="The Rakuten `purchaseid` of an imported order.")]
    item_ids: ItemIds | None = None


class OrderShipped(_OrderCommand):
    """The data of `order.shipped`: the merchant shipped (some items of) a Rakuten order."""

    carrier: Annotated[
        Carrier,
        Field(description="Rakuten's transporter name (matched loosely), or another name, sent as `Autre`."),
    ]
    tracking_number: TrackingNumber | None = None
    tracking_url: Annotated[
        TrackingUrl | None,
        Field(description="An absolute http(s) URL; required when the carrier is sent as `Autre`."),
    ] = None
    shipped_at: Annotated[Rfc3339Time | None, Field(description="When the parcel left (RFC 3339).")] = None


class OrderCancelRequested(_OrderCommand):
    """The data of `order.cancel_requested`: the merchant cannot fulfil (some items of) an order."""

    reason: Annotated[CancelReason, Field(description="Shown to the buyer (1-400 characters).")]


OrderCommand = OrderShipped | OrderCancelRequested

#: The order types of CONTRACT §1.1 and their data models, for the handlers to register.
ORDER_DATA_MODELS: dict[str, type[OrderCommand]] = {
    ORDER_SHIPPED: OrderShipped,
    ORDER_CANCEL_REQUESTED: OrderCancelRequested,
}
