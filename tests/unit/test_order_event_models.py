"""The order events of CONTRACT §1: inbound validation, outbound builders and their ids."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from events import InvalidEvent, parse_inbound
from events.inbound import DATA_MODELS, INBOUND_TYPES, MAX_ID_CHARS
from events.inbound_orders import ORDER_DATA_MODELS, OrderCancelRequested, OrderShipped
from events.outbound_data import ItemChange
from events.outbound_orders import (
    attention_required,
    cancellation_failed,
    order_import_failed,
    order_updated,
    shipment_confirmed,
    shipment_failed,
)


def uuid5(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def shipped(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"integration_id": "int-1", "account_id": "acc-1", "app": "rakuten",
                            "order_id": "987654321", "carrier": "Colissimo"}
    data.update(overrides)
    return data


def cancel(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"integration_id": "int-1", "account_id": "acc-1", "app": "rakuten",
                            "order_id": "987654321", "reason": "Out of stock, sorry"}
    data.update(overrides)
    return data


def test_order_shipped_with_every_field_is_parsed() -> None:
    data = OrderShipped.model_validate(shipped(
        item_ids=["11", "12"], carrier="  Mondial Relay ", tracking_number=" 6A123 ",
        tracking_url="https://www.example.com/track?n=6A123", shipped_at="2024-03-01T10:00:00+01:00"))

    assert data.item_ids == ["11", "12"]
    assert data.carrier == "Mondial Relay"
    assert data.tracking_number == "6A123"
    assert data.tracking_url == "https://www.example.com/track?n=6A123"
    assert data.shipped_at == datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def test_order_shipped_optional_fields_may_be_absent_or_null() -> None:
    absent = OrderShipped.model_validate(shipped())
    null = OrderShipped.model_validate(shipped(item_ids=None, tracking_number=None, tracking_url=None,
                                               shipped_at=None))

    assert absent == null
    assert absent.item_ids is None and absent.tracking_number is None


def test_repeated_item_ids_are_named_once() -> None:
    assert OrderShipped.model_validate(shipped(item_ids=["12", "11", "12"])).item_ids == ["12", "11"]
    assert OrderCancelRequested.model_validate(cancel(item_ids=["5", "5"])).item_ids == ["5"]


def test_cancel_requested_reason_is_trimmed() -> None:
    assert OrderCancelRequested.model_validate(cancel(reason="  Sorry \n")).reason == "Sorry"


BAD_ORDER_DATA: list[tuple[str, type[Any], dict[str, Any], str]] = [
    ("no carrier", OrderShipped, {k: v for k, v in shipped().items() if k != "carrier"}, "carrier"),
    ("blank carrier", OrderShipped, shipped(carrier="   "), "carrier"),
    ("long carrier", OrderShipped, shipped(carrier="c" * 101), "carrier"),
    ("empty tracking number", OrderShipped, shipped(tracking_number=""), "tracking_number"),
    ("long tracking number", OrderShipped, shipped(tracking_number="1" * 101), "tracking_number"),
    ("relative tracking url", OrderShipped, shipped(tracking_url="/track/1"), "tracking_url"),
    ("ftp tracking url", OrderShipped, shipped(tracking_url="ftp://example.com/1"), "tracking_url"),
    ("tracking url without host", OrderShipped, shipped(tracking_url="https:///track"), "tracking_url"),
    ("tracking url with a space", OrderShipped, shipped(tracking_url="https://a.fr/x y"), "tracking_url"),
    ("huge tracking url", OrderShipped, shipped(tracking_url="https://a.fr/" + "x" * 2000), "tracking_url"),
    ("naive shipped_at", OrderShipped, shipped(shipped_at="2024-03-01T10:00:00"), "shipped_at"),
    ("epoch shipped_at", OrderShipped, shipped(shipped_at=1709283600), "shipped_at"),
    ("item ids a string", OrderShipped, shipped(item_ids="11"), "item_ids"),
    ("numeric item id", OrderShipped, shipped(item_ids=[11]), "item_ids"),
    ("empty item id", OrderShipped, shipped(item_ids=[""]), "item_ids"),
    ("no order id", OrderShipped, {k: v for k, v in shipped().items() if k != "order_id"}, "order_id"),
    ("numeric order id", OrderShipped, shipped(order_id=987654321), "order_id"),
    ("long integration id", OrderShipped, shipped(integration_id="i" * 65), "integration_id"),
    ("no account", OrderCancelRequested, {k: v for k, v in cancel().items() if k != "account_id"},
     "account_id"),
    ("no reason", OrderCancelRequested, {k: v for k, v in cancel().items() if k != "reason"}, "reason"),
    ("blank reason", OrderCancelRequested, cancel(reason=" \t"), "reason"),
    ("reason over 400 characters", OrderCancelRequested, cancel(reason="r" * 401), "reason"),
    ("another app", OrderCancelRequested, cancel(app="amazon"), "app"),
]


@pytest.mark.parametrize(("name", "model", "data", "field"), BAD_ORDER_DATA,
                         ids=[case[0] for case in BAD_ORDER_DATA])
def test_invalid_order_data_is_rejected_naming_the_field(
    name: str, model: type[Any], data: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)

    assert {error["loc"][0] for error in caught.value.errors()} == {field}


def test_a_400_character_reason_and_a_2000_character_url_are_accepted() -> None:
    assert len(OrderCancelRequested.model_validate(cancel(reason="r" * 400)).reason) == 400
    url = "https://a.fr/" + "x" * (2000 - len("https://a.fr/"))
    assert OrderShipped.model_validate(shipped(tracking_url=url)).tracking_url == url


def test_shipped_is_registered_with_the_ingress_and_bound_to_the_inbox() -> None:
    assert set(ORDER_DATA_MODELS) == {"order.shipped", "order.cancel_requested"}
    assert DATA_MODELS["order.shipped"] is OrderShipped
    assert "order.shipped" in INBOUND_TYPES
    data = shipped()
    body = json.dumps({"specversion": "1.0", "id": "s-1", "source": "order-service",
                       "type": "order.shipped", "time": "2024-03-01T10:00:00Z", "data": data})
    assert parse_inbound(body.encode(), None).data == OrderShipped.model_validate(data)


def test_cancel_requested_is_registered_with_the_ingress_and_bound_to_the_inbox() -> None:
    assert set(ORDER_DATA_MODELS) == {"order.shipped", "order.cancel_requested"}
    assert DATA_MODELS["order.cancel_requested"] is OrderCancelRequested
    assert "order.cancel_requested" in INBOUND_TYPES
    data = cancel()
    body = json.dumps({"specversion": "1.0", "id": "c-1", "source": "order-service",
                       "type": "order.cancel_requested", "time": "2024-03-01T10:00:00Z", "data": data})
    assert parse_inbound(body.encode(), None).data == OrderCancelRequested.model_validate(data)


def envelope(**attributes: Any) -> bytes:
    event = {"specversion": "1.0", "id": "e-1", "source": "inventory-service", "type": "stock.changed",
             "time": "2024-03-01T10:00:00Z", "data": {"account_id": "a", "sku": "s", "quantity": 1}}
    event.update(attributes)
    return json.dumps(event).encode()


def test_an_event_id_of_256_characters_is_accepted_and_one_longer_is_dead_lettered() -> None:
    assert parse_inbound(envelope(id="i" * MAX_ID_CHARS), None).id == "i" * 256

    with pytest.raises(InvalidEvent) as caught:
        parse_inbound(envelope(id="i" * (MAX_ID_CHARS + 1)), None)

    assert caught.value.kind == "not_cloudevent"
    assert "id" in caught.value.reason


ORDER = {"order_id": "987654321", "status": "accepted", "items": []}


def test_order_import_failed_id_is_per_sale_and_detail() -> None:
    event = order_import_failed(integration_id="int-1", account_id="acc-1", order_id="987",
                                detail="items.0.price: not a number")
    unknown = order_import_failed(integration_id="int-1", account_id="acc-1", order_id=None,
                                  detail="purchaseid: missing")

    assert event["id"] == uuid5("rakuten-order-failed:int-1:987:items.0.price: not a number")
    assert unknown["id"] == uuid5("rakuten-order-failed:int-1::purchaseid: missing")
    assert event["type"] == "order.import_failed"
    assert event["data"] == {"integration_id": "int-1", "account_id": "acc-1", "app": "rakuten",
                             "order_id": "987", "reason": "unreadable_sale",
                             "detail": "items.0.price: not a number"}
    assert unknown["data"]["order_id"] is None


def test_order_updated_id_joins_the_sorted_changes() -> None:
    changes = [ItemChange(item_id="12", from_status="ACCEPTED", to_status="CANCELLED"),
               ItemChange(item_id="11", from_status=None, to_status="TO_CONFIRM")]
    event = order_updated(integration_id="int-1", account_id="acc-1", order=ORDER, changes=changes)
    again = order_updated(integration_id="int-1", account_id="acc-1", order=ORDER,
                          changes=list(reversed(changes)))

    assert event["id"] == uuid5("rakuten-order-change:int-1:987654321:11=TO_CONFIRM;12=CANCELLED")
    assert again["id"] == event["id"] and again["data"] == event["data"]
    assert event["type"] == "order.updated"
    assert event["data"]["order"] == ORDER
    assert event["data"]["changes"] == [
        {"item_id": "11", "from_status": None, "to_status": "TO_CONFIRM"},
        {"item_id": "12", "from_status": "ACCEPTED", "to_status": "CANCELLED"},
    ]


def test_order_updated_without_changes_is_refused() -> None:
    with pytest.raises(ValueError):
        order_updated(integration_id="int-1", account_id="acc-1", order=ORDER, changes=[])


def test_shipment_confirmed_id_sorts_items_and_writes_no_tracking_number_as_empty() -> None:
    def build(items: list[str], tracking: str | None) -> dict[str, Any]:
        return shipment_confirmed(integration_id="int-1", account_id="acc-1", order_id="987",
                                  item_ids=items, carrier="Colissimo", tracking_number=tracking)

    event = build(["12", "11"], "6A123")
    untracked = build(["11"], None)

    assert event["id"] == uuid5("rakuten-shipment:int-1:987:11,12:6A123")
    assert build(["11", "12"], "6A123")["id"] == event["id"]
    assert untracked["id"] == uuid5("rakuten-shipment:int-1:987:11:")
    assert event["type"] == "order.shipment_confirmed"
    assert event["data"] == {"integration_id": "int-1", "account_id": "acc-1", "app": "rakuten",
                             "order_id": "987", "item_ids": ["11", "12"], "carrier": "Colissimo",
                             "tracking_number": "6A123"}
    assert untracked["data"]["tracking_number"] is None


def test_shipment_failed_id_is_per_shipped_event_and_items() -> None:
    event = shipment_failed(integration_id="int-1", account_id="acc-1", shipped_event_id="evt-9",
                            order_id="987", item_ids=["12", "11"], reason="not_shippable", detail=None)

    assert event["id"] == uuid5("rakuten-shipment-failed:int-1:evt-9:11,12")
    assert event["type"] == "order.shipment_failed"
    assert event["data"]["item_ids"] == ["11", "12"]
    assert event["data"]["reason"] == "not_shippable" and event["data"]["detail"] is None


def test_shipment_failed_refuses_a_reason_the_contract_does_not_list() -> None:
    with pytest.raises(ValidationError):
        shipment_failed(integration_id="int-1", account_id="acc-1", shipped_event_id="evt-9",
                        order_id="987", item_ids=["11"], reason="lost", detail=None)  # type: ignore[arg-type]


def test_cancellation_failed_id_is_per_cancel_event_and_items() -> None:
    event = cancellation_failed(integration_id="int-1", account_id="acc-1", cancel_event_id="evt-7",
                                order_id="987", item_ids=["3", "21"], reason="not_cancellable",
                                detail="This item cannot be cancelled")

    assert event["id"] == uuid5("rakuten-cancel-failed:int-1:evt-7:21,3")
    assert event["type"] == "order.cancellation_failed"
    assert event["data"] == {"integration_id": "int-1", "account_id": "acc-1", "app": "rakuten",
                             "order_id": "987", "item_ids": ["21", "3"], "reason": "not_cancellable",
                             "detail": "This item cannot be cancelled"}


def test_attention_required_id_counts_the_changes_of_the_items_causes() -> None:
    def build(causes: list[str], n: int) -> dict[str, Any]:
        return attention_required(integration_id="int-1", account_id="acc-1", order_id=None,
                                  item_id="11", causes=causes, change_number=n)

    first = build(["UNREAD_MESSAGE_FROM_BUYER", "CLAIM"], 1)
    left = build([], 2)

    assert first["id"] == uuid5("rakuten-attention:int-1:11:1:CLAIM,UNREAD_MESSAGE_FROM_BUYER")
    assert left["id"] == uuid5("rakuten-attention:int-1:11:2:")
    assert first["type"] == "order.attention_required"
    assert first["data"] == {"integration_id": "int-1", "account_id": "acc-1", "app": "rakuten",
                             "order_id": None, "item_id": "11",
                             "causes": ["CLAIM", "UNREAD_MESSAGE_FROM_BUYER"]}
    with pytest.raises(ValueError):
        build(["CLAIM"], 0)


def test_every_new_builder_gives_a_json_cloudevent_of_this_service() -> None:
    events = [
        order_import_failed(integration_id="i", account_id="a", order_id="1", detail="d"),
        order_updated(integration_id="i", account_id="a", order=ORDER,
                      changes=[ItemChange(item_id="1", from_status="TO_CONFIRM", to_status="REFUSED")]),
        shipment_confirmed(integration_id="i", account_id="a", order_id="1", item_ids=["1"], carrier="DPD",
                           tracking_number=None),
        shipment_failed(integration_id="i", account_id="a", shipped_event_id="e", order_id="1",
                        item_ids=[], reason="unknown_order", detail="no such order"),
        cancellation_failed(integration_id="i", account_id="a", cancel_event_id="e", order_id="1",
                            item_ids=["1"], reason="rejected", detail=None),
        attention_required(integration_id="i", account_id="a", order_id="1", item_id="1", causes=["CLAIM"],
                           change_number=1),
    ]

    for event in events:
        assert json.loads(json.dumps(event)) == event
        assert (event["specversion"], event["source"], event["datacontenttype"]) == (
            "1.0", "rakuten-connector", "application/json")
        assert uuid.UUID(event["id"]).version == 5
        assert datetime.fromisoformat(event["time"]).tzinfo is not None
