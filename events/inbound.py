"""Inbound CloudEvents: the data models of CONTRACT §1.1 and `parse_inbound`.

The integration and stock models are here, the order ones in `events.inbound_orders`;
both are in `DATA_MODELS` once a handler applies them.

The envelope is validated from the raw bytes in pydantic's strict JSON mode (so
`time` must be an RFC 3339 string with an offset), then `data` is validated by the
model of the event type, strictly (no `"5"` for 5, no `true` for 1, no `5.0`).

Error reasons are built from each error's location and message only: pydantic's
errors also carry the input value, which may be the token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic.json_schema import SkipJsonSchema

from events.errors import EventIgnored, InvalidEvent
from events.fields import DATA_CONFIG as DATA_CONFIG
from events.fields import Id64 as Id64
from events.fields import Rfc3339Time as Rfc3339Time
from events.fields import strip_non_blank as strip_non_blank
from events.inbound_orders import ORDER_CANCEL_REQUESTED, ORDER_SHIPPED, OrderCancelRequested, OrderShipped

INTEGRATION_INSTALLED = "integration.installed"
INTEGRATION_UPDATED = "integration.updated"
INTEGRATION_DELETED = "integration.deleted"
STOCK_CHANGED = "stock.changed"
#: The routing keys the inbox queue is bound to.
INBOUND_TYPES = (
    INTEGRATION_INSTALLED,
    INTEGRATION_UPDATED,
    INTEGRATION_DELETED,
    STOCK_CHANGED,
    ORDER_SHIPPED,
    ORDER_CANCEL_REQUESTED,
)

#: The app this connector serves; `integration.*` events of other apps are ignored.
APP = "rakuten"
MAX_BODY_BYTES = 1024 * 1024  #: bytes; larger messages are dead-lettered
ACCEPTED_CONTENT_TYPES = frozenset({"application/cloudevents+json", "application/json"})
MAX_REASON_CHARS = 400  #: characters of an `x-rejection-reason`
MAX_ID_CHARS = 256  #: characters of an inbound event id (CONTRACT §1.3)
#: Bounds of the database columns (integer, bigint), so a valid event always fits.
MAX_QUANTITY = 2**31 - 1
MAX_VERSION = 2**63 - 1


Sku = Annotated[str, Field(min_length=1, max_length=100)]
#: A text trimmed of surrounding whitespace that must not be blank (merchants paste values).
Trimmed = Annotated[str, Field(pattern=r"\S"), BeforeValidator(strip_non_blank)]
SellerId = Trimmed
Token = Annotated[SecretStr, BeforeValidator(strip_non_blank), Field(json_schema_extra={"pattern": r"\S"})]


class IntegrationInstalled(BaseModel):
    """The data of `integration.installed`: the merchant confirmed the install form."""

    model_config = DATA_CONFIG

    integration_id: Id64
    account_id: Id64
    app: Literal["rakuten"]
    application_name: str = "Rakuten"
    seller_id: SellerId
    token: Token
    stock_sync_enabled: bool = False
    auto_accept_orders: bool = False


#: The optional fields of `integration.updated`.
UPDATABLE_FIELDS = (
    "application_name",
    "seller_id",
    "token",
    "stock_sync_enabled",
    "auto_accept_orders",
)


class IntegrationUpdated(BaseModel):
    """The data of `integration.updated`: only the fields present change.

    A field is present exactly when it is in `model_fields_set` (see `changes()`);
    a present field is never None, since an explicit `null` is rejected.
    """

    model_config = DATA_CONFIG

    integration_id: Id64
    account_id: Id64
    app: Literal["rakuten"]
    # None stands for "absent": the published schema does not offer null
    application_name: str | SkipJsonSchema[None] = None
    seller_id: SellerId | SkipJsonSchema[None] = None
    token: Token | SkipJsonSchema[None] = None
    stock_sync_enabled: bool | SkipJsonSchema[None] = None
    auto_accept_orders: bool | SkipJsonSchema[None] = None

    @field_validator(*UPDATABLE_FIELDS, mode="before")
    @classmethod
    def _reject_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("must not be null; leave the field out to keep it")
        return value

    def changes(self) -> dict[str, Any]:
        """Return the optional fields present in the event, by name."""
        return {name: getattr(self, name) for name in UPDATABLE_FIELDS if name in self.model_fields_set}

    @property
    def changes_credentials(self) -> bool:
        """Whether the event changes `seller_id` or `token` (so needs a new verification)."""
        return bool({"seller_id", "token"} & self.model_fields_set)


class IntegrationDeleted(BaseModel):
    """The data of `integration.deleted`: the merchant deleted the integration."""

    model_config = DATA_CONFIG

    integration_id: Id64
    account_id: Id64
    app: Literal["rakuten"]


class StockChanged(BaseModel):
    """The data of `stock.changed`: a SKU's new absolute available quantity."""

    model_config = DATA_CONFIG

    account_id: Id64
    sku: Sku
    quantity: Annotated[int, Field(ge=0, le=MAX_QUANTITY)]
    version: Annotated[int, Field(ge=0, le=MAX_VERSION)] | None = None


InboundData = (
    IntegrationInstalled
    | IntegrationUpdated
    | IntegrationDeleted
    | StockChanged
    | OrderShipped
    | OrderCancelRequested
)

DATA_MODELS: dict[str, type[InboundData]] = {
    INTEGRATION_INSTALLED: IntegrationInstalled,
    INTEGRATION_UPDATED: IntegrationUpdated,
    INTEGRATION_DELETED: IntegrationDeleted,
    STOCK_CHANGED: StockChanged,
    ORDER_SHIPPED: OrderShipped,
    ORDER_CANCEL_REQUESTED: OrderCancelRequested,
}


@dataclass(frozen=True, slots=True)
class InboundEvent:
    """A valid inbound event for this connector."""

    id: str
    source: str
    type: str
    time: datetime
    data: InboundData


class Envelope(BaseModel):
    """The CloudEvents attributes of an inbound event, with `data` still unvalidated."""

    model_config = ConfigDict(strict=True, extra="ignore")

    specversion: Literal["1.0"]
    id: Annotated[str, Field(min_length=1, max_length=MAX_ID_CHARS)]
    source: Annotated[str, Field(min_length=1)]
    type: str
    time: Rfc3339Time
    datacontenttype: Literal["application/json"] | None = None
    data: dict[str, Any]


def parse_inbound(body: bytes, content_type: str | None) -> InboundEvent:
    """Validate one AMQP message and return its event.

    Raises `InvalidEvent` (with a secret-free reason and its kind) for anything the
    contract says to dead-letter, and `EventIgnored` for another app's event.
    """
    if len(body) > MAX_BODY_BYTES:
        raise InvalidEvent(f"message larger than {MAX_BODY_BYTES} bytes", kind="too_large")
    _check_content_type(content_type)
    envelope = _parse_envelope(body)
    model = DATA_MODELS.get(envelope.type)
    if model is None:
        raise InvalidEvent(f"unknown event type {envelope.type[:100]!r}", kind="unknown_type")
    app = envelope.data.get("app")
    if envelope.type != STOCK_CHANGED and isinstance(app, str) and app != APP:
        raise EventIgnored(envelope.type, app)
    try:
        data = model.model_validate(envelope.data)
    except ValidationError as exc:
        raise InvalidEvent(f"invalid data: {_describe(exc)}", kind="invalid_data") from None
    return InboundEvent(envelope.id, envelope.source, envelope.type, envelope.time, data)


def _check_content_type(content_type: str | None) -> None:
    if not content_type:
        return
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in ACCEPTED_CONTENT_TYPES:
        reason = f"content type {content_type[:100]!r} is not a JSON CloudEvent"
        raise InvalidEvent(reason, kind="bad_content_type")


def _parse_envelope(body: bytes) -> Envelope:
    try:
        return Envelope.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        if any(e["type"] == "json_invalid" for e in errors):
            raise InvalidEvent("not UTF-8 JSON", kind="not_json") from None
        if any(e["loc"] == () for e in errors):
            raise InvalidEvent("not a CloudEvent: not a JSON object", kind="not_cloudevent") from None
        raise InvalidEvent(f"not a CloudEvent: {_describe(exc)}", kind="not_cloudevent") from None


def _describe(exc: ValidationError) -> str:
    """Summarise validation errors from their location and message, never their input."""
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    parts = [f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in errors]
    text = "; ".join(parts)
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 3] + "..."
