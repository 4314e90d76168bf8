"""Mapping a Rakuten sale to the `order` of `order.imported` (CONTRACT §1.2)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from connectors.rakuten import Address, Money, PickupPoint, Sale, SaleItem
from db.orders import ItemRow, OrderRow
from events.outbound import rfc3339

#: item statuses of a sale that waits for the seller's acceptance
AWAITING_ACCEPTANCE = frozenset({"TO_CONFIRM", "REQUESTED", "REMINDED"})


def order_status(items: Iterable[SaleItem]) -> str:
    """`new` while any item awaits the seller's acceptance, else `accepted`."""
    return "new" if any(i.status in AWAITING_ACCEPTANCE for i in items) else "accepted"


def acceptable(item: SaleItem) -> bool:
    """Whether the item may be accepted automatically: awaiting, paid, not negotiated."""
    return item.status in AWAITING_ACCEPTANCE and item.payment_status == "INCOMING" and not item.is_nego


def _money(amount: Decimal, currency: str) -> dict[str, str]:
    return {"amount": str(amount), "currency": currency}


def _address(address: Address | None) -> dict[str, Any] | None:
    if address is None:
        return None
    return {
        "civility": address.civility,
        "first_name": address.first_name,
        "last_name": address.last_name,
        "line1": address.line1,
        "line2": address.line2,
        "zip_code": address.zip_code,
        "city": address.city,
        "country": address.country,
        "country_code": address.country_code,
        "phone": address.phone,
    }


def _pickup_point(point: PickupPoint | None) -> dict[str, Any] | None:
    if point is None:
        return None
    return {
        "id": point.id,
        "name": point.name,
        "line1": point.line1,
        "line2": point.line2,
        "zip_code": point.zip_code,
        "city": point.city,
        "country_code": point.country_code,
    }


def _item(item: SaleItem) -> dict[str, Any]:
    return {
        "item_id": item.item_id,
        "sku": item.sku,
        "advert_id": item.advert_id,
        "title": item.title,
        "status": item.status,
        "quantity": 1,  # Rakuten has no quantity: each item is one unit
        "unit_price": _money(item.price.amount, item.price.currency),
        "status_reason": None,
    }


def _total(items: Iterable[SaleItem]) -> dict[str, str]:
    prices: list[Money] = [i.price for i in items]
    currency = prices[0].currency if prices else "EUR"
    return _money(sum((p.amount for p in prices), Decimal(0)), currency)


def order_data(sale: Sale) -> dict[str, Any]:
    """Return the contract's `order` object for a sale (JSON-ready)."""
    return {
        "order_id": sale.purchase_id,
        "ordered_at": rfc3339(sale.purchased_at),
        "status": order_status(sale.items),
        "buyer": {"login": sale.buyer_login, "email": sale.buyer_email},
        "shipping": {
            "type": sale.shipping_type,
            "address": _address(sale.delivery_address or sale.billing_address),
            "pickup_point": _pickup_point(sale.pickup_point),
        },
        "billing_address": _address(sale.billing_address),
        "items": [_item(i) for i in sale.items],
        "total": _total(sale.items),
    }


def order_row(sale: Sale, *, auto_accept: bool) -> OrderRow:
    """Return the rows that store a sale: the order, its data and its items."""
    return OrderRow(
        order_id=sale.purchase_id,
        ordered_at=sale.purchased_at,
        status=order_status(sale.items),
        data=order_data(sale),
        items=[
            ItemRow(
                order_id=sale.purchase_id,
                item_id=i.item_id,
                sku=i.sku,
                status=i.status,
                payment_status=i.payment_status,
                is_nego=i.is_nego,
                to_accept=auto_accept and acceptable(i),
            )
            for i in sale.items
        ],
    )
