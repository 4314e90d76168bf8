"""The `order` of `order.imported`, from a parsed Rakuten sale (CONTRACT §1.2)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from connectors.rakuten import Address, Money, PickupPoint, Sale, SaleItem
from workers.order_mapping import acceptable, order_data, order_row, order_status


def _item(item_id: str, status: str = "TO_CONFIRM", **kw: object) -> SaleItem:
    fields: dict[str, object] = {
        "item_id": item_id,
        "sku": "SKU-1",
        "advert_id": "99",
        "title": "Mug",
        "status": status,
        "payment_status": "INCOMING",
        "is_nego": False,
        "is_preorder": False,
        "price": Money(Decimal("10.5"), "EUR"),
        "listed_price": Money(Decimal("12"), "EUR"),
    }
    fields.update(kw)
    return SaleItem(**fields)  # type: ignore[arg-type]


def _address(city: str) -> Address:
    return Address("M.", "Jean", "Dupont", "1 rue A", None, "75001", city, "France", "FR", "0102030405")


def _sale(
    *items: SaleItem,
    delivery: Address | None = None,
    billing: Address | None = None,
    pickup: PickupPoint | None = None,
) -> Sale:
    return Sale(
        "123",
        datetime(2026, 3, 1, 8, 12, tzinfo=UTC),
        "Suivi",
        "jdupont",
        None,
        delivery,
        billing,
        pickup,
        tuple(items),
    )


def test_an_order_has_every_contract_field_with_amounts_as_decimal_strings() -> None:
    data = order_data(
        _sale(_item("1"), _item("2", price=Money(Decimal("32.0"), "EUR")), delivery=_address("Paris"))
    )
    assert set(data) == {
        "order_id",
        "ordered_at",
        "status",
        "buyer",
        "shipping",
        "billing_address",
        "items",
        "total",
    }
    assert data["ordered_at"] == "2026-03-01T08:12:00Z"
    assert data["buyer"] == {"login": "jdupont", "email": None}
    assert data["total"] == {"amount": "42.5", "currency": "EUR"}
    assert data["items"][1] == {
        "item_id": "2",
        "sku": "SKU-1",
        "advert_id": "99",
        "title": "Mug",
        "status": "TO_CONFIRM",
        "quantity": 1,
        "unit_price": {"amount": "32.0", "currency": "EUR"},
        "status_reason": None,
    }
    assert set(data["shipping"]["address"]) == {
        "civility",
        "first_name",
        "last_name",
        "line1",
        "line2",
        "zip_code",
        "city",
        "country",
        "country_code",
        "phone",
    }
    assert data["billing_address"] is None and data["shipping"]["pickup_point"] is None


def test_the_shipping_address_falls_back_to_billing_and_a_relay_fills_the_pickup_point() -> None:
    relay = PickupPoint("R1", "Tabac", "2 rue B", None, "30000", "Nîmes", "FR")
    data = order_data(_sale(_item("1"), billing=_address("Nîmes"), pickup=relay))
    assert data["shipping"]["address"]["city"] == "Nîmes"
    assert data["shipping"]["pickup_point"] == {
        "id": "R1",
        "name": "Tabac",
        "line1": "2 rue B",
        "line2": None,
        "zip_code": "30000",
        "city": "Nîmes",
        "country_code": "FR",
    }


def test_an_order_is_new_while_an_item_awaits_acceptance_else_accepted() -> None:
    assert order_status([_item("1", "ACCEPTED"), _item("2", "REQUESTED")]) == "new"
    assert order_status([_item("1", "ACCEPTED"), _item("2", "CANCELLED")]) == "accepted"


def test_only_awaiting_paid_unnegotiated_items_are_accepted_automatically() -> None:
    assert acceptable(_item("1"))
    assert not acceptable(_item("2", is_nego=True))
    assert not acceptable(_item("3", payment_status="PENDING"))
    assert not acceptable(_item("4", "ACCEPTED"))
    rows = order_row(_sale(_item("1"), _item("2", is_nego=True)), auto_accept=True).items
    assert [r.to_accept for r in rows] == [True, False]
    assert [r.to_accept for r in order_row(_sale(_item("1")), auto_accept=False).items] == [False]
