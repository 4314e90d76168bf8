"""The wire contract: CloudEvent models, the AMQP ingress, the publisher and the outbox relay.

`events` imports `db` but never `workers`: the ingress hands valid events to a
handler it is given.
"""

from __future__ import annotations

from events.errors import EventError, EventIgnored, InvalidEvent, PublishFailed
from events.inbound import (
    INBOUND_TYPES,
    INTEGRATION_DELETED,
    INTEGRATION_INSTALLED,
    INTEGRATION_UPDATED,
    STOCK_CHANGED,
    InboundData,
    InboundEvent,
    IntegrationDeleted,
    IntegrationInstalled,
    IntegrationUpdated,
    StockChanged,
    parse_inbound,
)
from events.outbound import (
    INTEGRATION_VERIFICATION_FAILED,
    INTEGRATION_VERIFIED,
    ORDER_IMPORTED,
    STOCK_SYNC_FAILED,
    integration_verified,
    order_event_id,
    order_imported,
    stock_sync_failed,
    verification_failed,
)

__all__ = [
    "INBOUND_TYPES",
    "INTEGRATION_DELETED",
    "INTEGRATION_INSTALLED",
    "INTEGRATION_UPDATED",
    "INTEGRATION_VERIFICATION_FAILED",
    "INTEGRATION_VERIFIED",
    "ORDER_IMPORTED",
    "STOCK_CHANGED",
    "STOCK_SYNC_FAILED",
    "EventError",
    "EventIgnored",
    "InboundData",
    "InboundEvent",
    "IntegrationDeleted",
    "IntegrationInstalled",
    "IntegrationUpdated",
    "InvalidEvent",
    "PublishFailed",
    "StockChanged",
    "integration_verified",
    "order_event_id",
    "order_imported",
    "parse_inbound",
    "stock_sync_failed",
    "verification_failed",
]
