"""Outbound events after the import (CONTRACT §1.2): failures to read, changes, shipments, claims.

Each id follows the contract's uuid5 formula for the fact the event reports. Lists
in a formula are sorted, so the same fact named in another order has the same id;
a null value is the empty string in an id (as the contract says of the tracking
number). The lists in the data are sorted the same way, so a re-publication carries
the same data too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from events.outbound import (
    APP,
    ORDER_ATTENTION_REQUIRED,
    ORDER_CANCELLATION_FAILED,
    ORDER_IMPORT_FAILED,
    ORDER_SHIPMENT_CONFIRMED,
    ORDER_SHIPMENT_FAILED,
    ORDER_UPDATED,
    cloudevent,
    event_id,
)
from events.outbound_data import (
    AttentionRequiredData,
    CancellationFailedData,
    CancellationFailure,
    ItemChange,
    OrderImportFailedData,
    ShipmentConfirmedData,
    ShipmentFailedData,
    ShipmentFailure,
)


def _joined(values: Iterable[str], separator: str = ",") -> str:
    return separator.join(sorted(values))


def import_failed_id(integration_id: str, order_id: str | None, detail: str) -> str:
    """Return the id of `order.import_failed`: one per sale and per reason it cannot be read."""
    return event_id(f"rakuten-order-failed:{integration_id}:{order_id or ''}:{detail}")


def order_updated_id(integration_id: str, order_id: str, changes: Iterable[ItemChange]) -> str:
    """Return the id of `order.updated`: the same changes seen twice have the same id."""
    changed = _joined((f"{c.item_id}={c.to_status}" for c in changes), ";")
    return event_id(f"rakuten-order-change:{integration_id}:{order_id}:" + changed)


def shipment_confirmed_id(
    integration_id: str, order_id: str, item_ids: Iterable[str], tracking_number: str | None
) -> str:
    """Return the id of `order.shipment_confirmed` for the items Rakuten took together."""
    return event_id(
        f"rakuten-shipment:{integration_id}:{order_id}:" + _joined(item_ids) + f":{tracking_number or ''}"
    )


def shipment_failed_id(integration_id: str, shipped_event_id: str, item_ids: Iterable[str]) -> str:
    """Return the id of `order.shipment_failed` for these items of one `order.shipped`."""
    return event_id(f"rakuten-shipment-failed:{integration_id}:{shipped_event_id}:" + _joined(item_ids))


def cancellation_failed_id(integration_id: str, cancel_event_id: str, item_ids: Iterable[str]) -> str:
    """Return the id of `order.cancellation_failed` for these items of one `order.cancel_requested`."""
    return event_id(f"rakuten-cancel-failed:{integration_id}:{cancel_event_id}:" + _joined(item_ids))


def attention_required_id(
    integration_id: str, item_id: str, change_number: int, causes: Iterable[str]
) -> str:
    """Return the id of `order.attention_required`: the `change_number`-th change of the item's causes."""
    if change_number < 1:
        raise ValueError("change_number counts the changes of the item's causes from 1")
    return event_id(f"rakuten-attention:{integration_id}:{item_id}:{change_number}:" + _joined(causes))


def order_import_failed(
    *, integration_id: str, account_id: str, order_id: str | None, detail: str
) -> dict[str, Any]:
    """Build `order.import_failed`: a sale of a Rakuten answer could not be read (`detail`: field, why)."""
    data = OrderImportFailedData(
        integration_id=integration_id,
        account_id=account_id,
        app=APP,
        order_id=order_id,
        reason="unreadable_sale",
        detail=detail,
    )
    return cloudevent(ORDER_IMPORT_FAILED, import_failed_id(integration_id, order_id, detail), data)


def order_updated(
    *, integration_id: str, account_id: str, order: Mapping[str, Any], changes: Iterable[ItemChange]
) -> dict[str, Any]:
    """Build `order.updated`: the whole order now (JSON-ready, as for `order.imported`) and its changes.

    The order is not validated again, for the reason given in `outbound.order_imported`.
    """
    ordered = sorted(changes, key=lambda change: (change.item_id, change.to_status))
    if not ordered:
        raise ValueError("an order.updated reports at least one change")
    data = {
        "integration_id": integration_id,
        "account_id": account_id,
        "app": APP,
        "order": dict(order),
        "changes": [change.model_dump(mode="json") for change in ordered],
    }
    id_ = order_updated_id(integration_id, str(order["order_id"]), ordered)
    return cloudevent(ORDER_UPDATED, id_, data)


def shipment_confirmed(
    *,
    integration_id: str,
    account_id: str,
    order_id: str,
    item_ids: Iterable[str],
    carrier: str,
    tracking_number: str | None,
) -> dict[str, Any]:
    """Build `order.shipment_confirmed` for the items Rakuten took (`carrier` as sent to Rakuten)."""
    items = sorted(item_ids)
    data = ShipmentConfirmedData(
        integration_id=integration_id,
        account_id=account_id,
        app=APP,
        order_id=order_id,
        item_ids=items,
        carrier=carrier,
        tracking_number=tracking_number,
    )
    id_ = shipment_confirmed_id(integration_id, order_id, items, tracking_number)
    return cloudevent(ORDER_SHIPMENT_CONFIRMED, id_, data)


def shipment_failed(
    *,
    integration_id: str,
    account_id: str,
    shipped_event_id: str,
    order_id: str,
    item_ids: Iterable[str],
    reason: ShipmentFailure,
    detail: str | None,
) -> dict[str, Any]:
    """Build `order.shipment_failed` for the items of the `order.shipped` `shipped_event_id` that failed."""
    items = sorted(item_ids)
    data = ShipmentFailedData(
        integration_id=integration_id,
        account_id=account_id,
        app=APP,
        order_id=order_id,
        item_ids=items,
        reason=reason,
        detail=detail,
    )
    id_ = shipment_failed_id(integration_id, shipped_event_id, items)
    return cloudevent(ORDER_SHIPMENT_FAILED, id_, data)


def cancellation_failed(
    *,
    integration_id: str,
    account_id: str,
    cancel_event_id: str,
    order_id: str,
    item_ids: Iterable[str],
    reason: CancellationFailure,
    detail: str | None,
) -> dict[str, Any]:
    """Build `order.cancellation_failed` for the items of `cancel_event_id` that could not be cancelled."""
    items = sorted(item_ids)
    data = CancellationFailedData(
        integration_id=integration_id,
        account_id=account_id,
        app=APP,
        order_id=order_id,
        item_ids=items,
        reason=reason,
        detail=detail,
    )
    id_ = cancellation_failed_id(integration_id, cancel_event_id, items)
    return cloudevent(ORDER_CANCELLATION_FAILED, id_, data)


def attention_required(
    *,
    integration_id: str,
    account_id: str,
    order_id: str | None,
    item_id: str,
    causes: Iterable[str],
    change_number: int,
) -> dict[str, Any]:
    """Build `order.attention_required`: the item's causes now (empty: it left the to-do list).

    `change_number` counts the changes of this item's causes, 1 for the first.
    """
    listed = sorted(causes)
    data = AttentionRequiredData(
        integration_id=integration_id,
        account_id=account_id,
        app=APP,
        order_id=order_id,
        item_id=item_id,
        causes=listed,
    )
    id_ = attention_required_id(integration_id, item_id, change_number, listed)
    return cloudevent(ORDER_ATTENTION_REQUIRED, id_, data)
