"""Every event type of CONTRACT §1 with its data model: the source of the contract files.

`CATALOG` lists the sixteen types, inbound then outbound, with who publishes
them and what they mean. `events.contract_docs` generates the AsyncAPI document
and the JSON Schemas from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from events import inbound, inbound_orders, outbound
from events import outbound_data as out

Direction = Literal["inbound", "outbound"]


@dataclass(frozen=True)
class EventType:
    """One event type: its name (the routing key), direction, data model and meaning."""

    name: str
    direction: Direction
    data_model: type[BaseModel]
    publisher: str
    summary: str


def _inbound(name: str, model: type[BaseModel], publisher: str, summary: str) -> EventType:
    return EventType(name, "inbound", model, publisher, summary)


def _outbound(name: str, model: type[BaseModel], summary: str) -> EventType:
    return EventType(name, "outbound", model, "rakuten-connector", summary)


CATALOG: tuple[EventType, ...] = (
    _inbound(inbound.INTEGRATION_INSTALLED, inbound.IntegrationInstalled, "install service",
             "The merchant confirmed the install form of the Rakuten app."),
    _inbound(inbound.INTEGRATION_UPDATED, inbound.IntegrationUpdated, "install service",
             "The merchant edited the integration; only the fields present change."),
    _inbound(inbound.INTEGRATION_DELETED, inbound.IntegrationDeleted, "install service",
             "The merchant deleted the integration: nothing is pulled or pushed for it afterwards."),
    _inbound(inbound.STOCK_CHANGED, inbound.StockChanged, "inventory service",
             "A SKU's available quantity changed (latest wins per account and SKU)."),
    _inbound(inbound_orders.ORDER_SHIPPED, inbound_orders.OrderShipped, "order service",
             "The merchant shipped (some items of) a Rakuten order."),
    _inbound(inbound_orders.ORDER_CANCEL_REQUESTED, inbound_orders.OrderCancelRequested, "order service",
             "The merchant cannot fulfil (some items of) a Rakuten order."),
    _outbound(outbound.INTEGRATION_VERIFIED, out.IntegrationVerifiedData,
              "The integration's credentials work."),
    _outbound(outbound.INTEGRATION_VERIFICATION_FAILED, out.VerificationFailedData,
              "The credentials do not work, or Rakuten could not be reached after retries."),
    _outbound(outbound.ORDER_IMPORTED, out.OrderImportedData, "A Rakuten order (purchase), once."),
    _outbound(outbound.STOCK_SYNC_FAILED, out.StockSyncFailedData,
              "Rakuten rejected a SKU's update in an import report."),
    _outbound(outbound.ORDER_IMPORT_FAILED, out.OrderImportFailedData,
              "A sale in a Rakuten answer could not be read; it is tried again at every poll."),
    _outbound(outbound.ORDER_UPDATED, out.OrderUpdatedData,
              "A known order changed on Rakuten (item statuses, added items)."),
    _outbound(outbound.ORDER_SHIPMENT_CONFIRMED, out.ShipmentConfirmedData,
              "Rakuten took an order.shipped for these items."),
    _outbound(outbound.ORDER_SHIPMENT_FAILED, out.ShipmentFailedData,
              "An order.shipped could not be told to Rakuten for these items."),
    _outbound(outbound.ORDER_CANCELLATION_FAILED, out.CancellationFailedData,
              "An order.cancel_requested could not be carried out for these items."),
    _outbound(outbound.ORDER_ATTENTION_REQUIRED, out.AttentionRequiredData,
              "An item on Rakuten's to-do list needs the merchant (a claim, an unread message)."),
)


def by_name() -> dict[str, EventType]:
    """Return the catalog by event type."""
    return {event.name: event for event in CATALOG}
