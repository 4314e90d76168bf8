"""The CloudEvent models: what `parse_inbound` accepts and rejects, and the outbound builders."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from events import (
    EventIgnored,
    IntegrationDeleted,
    IntegrationInstalled,
    IntegrationUpdated,
    InvalidEvent,
    StockChanged,
    integration_verified,
    order_imported,
    parse_inbound,
    stock_sync_failed,
    verification_failed,
)
from events.inbound import MAX_BODY_BYTES

SECRET = "s3cr3t-T0ken-value"


def cloudevent(type_: str, data: Any, **attributes: Any) -> dict[str, Any]:
    event = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "install-service",
        "type": type_,
        "time": "2024-03-01T10:00:00+01:00",
        "datacontenttype": "application/json",
        "data": data,
    }
    event.update(attributes)
    return event


def installed_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "integration_id": "int-1",
        "account_id": "acc-1",
        "app": "rakuten",
        "seller_id": "WorldGlobal",
        "token": SECRET,
    }
    data.update(overrides)
    return data


def encode(event: Any) -> bytes:
    return json.dumps(event).encode()


def rejection(body: bytes, content_type: str | None = "application/cloudevents+json") -> InvalidEvent:
    with pytest.raises(InvalidEvent) as caught:
        parse_inbound(body, content_type)
    return caught.value


def test_installed_event_is_parsed_with_contract_defaults() -> None:
    event = parse_inbound(encode(cloudevent("integration.installed", installed_data())), None)

    assert isinstance(event.data, IntegrationInstalled)
    assert event.type == "integration.installed"
    assert event.time == datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    assert event.data.application_name == "Rakuten"
    assert event.data.stock_sync_enabled is False
    assert event.data.auto_accept_orders is False
    assert event.data.token.get_secret_value() == SECRET


def test_seller_id_and_token_are_stripped_of_surrounding_whitespace() -> None:
    data = installed_data(seller_id="  WorldGlobal\t", token=f"\n {SECRET}  ")
    event = parse_inbound(encode(cloudevent("integration.installed", data)), None)

    assert isinstance(event.data, IntegrationInstalled)
    assert event.data.seller_id == "WorldGlobal"
    assert event.data.token.get_secret_value() == SECRET


def test_updated_event_tells_which_optional_fields_were_present() -> None:
    data = {"integration_id": "int-1", "account_id": "acc-1", "app": "rakuten",
            "stock_sync_enabled": True, "token": f" {SECRET} "}
    event = parse_inbound(encode(cloudevent("integration.updated", data)), None)

    assert isinstance(event.data, IntegrationUpdated)
    changes = event.data.changes()
    assert set(changes) == {"stock_sync_enabled", "token"}
    assert changes["stock_sync_enabled"] is True
    assert changes["token"].get_secret_value() == SECRET
    assert event.data.changes_credentials


def test_updated_event_without_credentials_does_not_ask_for_verification() -> None:
    data = {"integration_id": "int-1", "account_id": "acc-1", "app": "rakuten",
            "application_name": "My shop"}
    event = parse_inbound(encode(cloudevent("integration.updated", data)), None)

    assert isinstance(event.data, IntegrationUpdated)
    assert event.data.changes() == {"application_name": "My shop"}
    assert not event.data.changes_credentials


def test_deleted_event_is_parsed() -> None:
    data = {"integration_id": "int-1", "account_id": "acc-1", "app": "rakuten"}
    event = parse_inbound(encode(cloudevent("integration.deleted", data)), "application/json")

    assert event.data == IntegrationDeleted(integration_id="int-1", account_id="acc-1",
                                            app="rakuten")


@pytest.mark.parametrize("version", [None, 7])
def test_stock_changed_event_is_parsed_with_optional_version(version: int | None) -> None:
    data: dict[str, Any] = {"account_id": "acc-1", "sku": "SKU-1", "quantity": 0}
    if version is not None:
        data["version"] = version
    event = parse_inbound(encode(cloudevent("stock.changed", data)), "")

    assert event.data == StockChanged(account_id="acc-1", sku="SKU-1", quantity=0, version=version)


@pytest.mark.parametrize(
    "content_type",
    [None, "", "application/cloudevents+json", "application/json; charset=utf-8",
     "Application/CloudEvents+JSON;charset=UTF-8"],
)
def test_accepted_content_types_parse(content_type: str | None) -> None:
    body = encode(cloudevent("stock.changed", {"account_id": "a", "sku": "s", "quantity": 1}))

    assert parse_inbound(body, content_type).type == "stock.changed"


def test_unknown_fields_are_ignored() -> None:
    event = cloudevent("integration.installed", installed_data(colour="blue"), extension="x")

    assert isinstance(parse_inbound(encode(event), None).data, IntegrationInstalled)


@pytest.mark.parametrize("app", ["amazon", "Rakuten", ""])
def test_integration_event_of_another_app_is_ignored_even_with_other_fields(app: str) -> None:
    event = cloudevent("integration.installed", {"app": app, "api_key": "whatever"})

    with pytest.raises(EventIgnored) as caught:
        parse_inbound(encode(event), None)
    assert caught.value.app == app
    assert caught.value.event_type == "integration.installed"


BAD_ENVELOPES: list[tuple[str, bytes, str, str]] = [
    ("not json", b"{nope", "not_json", "JSON"),
    ("not utf-8", b'{"a": "\xff\xfe"}', "not_json", "JSON"),
    ("empty body", b"", "not_json", "JSON"),
    ("a list", b"[1, 2]", "not_cloudevent", "object"),
    ("a string", b'"text"', "not_cloudevent", "object"),
    ("no specversion", encode({k: v for k, v in cloudevent("stock.changed", {}).items()
                               if k != "specversion"}), "not_cloudevent", "specversion"),
    ("specversion 0.3", encode(cloudevent("stock.changed", {}, specversion="0.3")),
     "not_cloudevent", "specversion"),
    ("empty id", encode(cloudevent("stock.changed", {}, id="")), "not_cloudevent", "id"),
    ("empty source", encode(cloudevent("stock.changed", {}, source="")),
     "not_cloudevent", "source"),
    ("naive time", encode(cloudevent("stock.changed", {}, time="2024-03-01T10:00:00")),
     "not_cloudevent", "time"),
    ("epoch time", encode(cloudevent("stock.changed", {}, time=1709283600)),
     "not_cloudevent", "time"),
    ("numeric string time", encode(cloudevent("stock.changed", {}, time="1709283600")),
     "not_cloudevent", "time"),
    ("date only", encode(cloudevent("stock.changed", {}, time="2024-03-01")),
     "not_cloudevent", "time"),
    ("data a list", encode(cloudevent("stock.changed", [1])), "not_cloudevent", "data"),
    ("no data", encode({k: v for k, v in cloudevent("stock.changed", {}).items()
                        if k != "data"}), "not_cloudevent", "data"),
    ("xml datacontenttype", encode(cloudevent("stock.changed", {}, datacontenttype="text/xml")),
     "not_cloudevent", "datacontenttype"),
    ("unknown type", encode(cloudevent("order.imported", {})), "unknown_type", "order.imported"),
]


@pytest.mark.parametrize(("name", "body", "kind", "hint"), BAD_ENVELOPES,
                         ids=[case[0] for case in BAD_ENVELOPES])
def test_malformed_message_is_rejected_with_its_kind_and_reason(
    name: str, body: bytes, kind: str, hint: str
) -> None:
    error = rejection(body)

    assert error.kind == kind
    assert hint in error.reason


def test_message_over_one_mebibyte_is_rejected_before_parsing() -> None:
    data = installed_data(application_name="x" * MAX_BODY_BYTES)
    error = rejection(encode(cloudevent("integration.installed", data)))

    assert error.kind == "too_large"


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/jsonx"])
def test_message_with_another_content_type_is_rejected(content_type: str) -> None:
    body = encode(cloudevent("stock.changed", {"account_id": "a", "sku": "s", "quantity": 1}))
    error = rejection(body, content_type)

    assert error.kind == "bad_content_type"
    assert content_type in error.reason


def stock(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"account_id": "acc-1", "sku": "SKU-1", "quantity": 3}
    data.update(overrides)
    return data


BAD_DATA: list[tuple[str, str, dict[str, Any], str]] = [
    ("negative quantity", "stock.changed", stock(quantity=-1), "quantity"),
    ("boolean quantity", "stock.changed", stock(quantity=True), "quantity"),
    ("fractional quantity", "stock.changed", stock(quantity=1.5), "quantity"),
    ("float quantity", "stock.changed", stock(quantity=2.0), "quantity"),
    ("string quantity", "stock.changed", stock(quantity="3"), "quantity"),
    ("huge quantity", "stock.changed", stock(quantity=2**40), "quantity"),
    ("no quantity", "stock.changed", {"account_id": "a", "sku": "s"}, "quantity"),
    ("empty sku", "stock.changed", stock(sku=""), "sku"),
    ("long sku", "stock.changed", stock(sku="x" * 101), "sku"),
    ("string version", "stock.changed", stock(version="2"), "version"),
    ("long integration id", "integration.installed",
     installed_data(integration_id="i" * 65), "integration_id"),
    ("empty account id", "integration.installed", installed_data(account_id=""), "account_id"),
    ("blank token", "integration.installed", installed_data(token="   "), "token"),
    ("blank seller id", "integration.installed", installed_data(seller_id=" "), "seller_id"),
    ("no token", "integration.installed",
     {k: v for k, v in installed_data().items() if k != "token"}, "token"),
    ("no app", "integration.deleted", {"integration_id": "i", "account_id": "a"}, "app"),
    ("string flag", "integration.installed", installed_data(stock_sync_enabled="yes"),
     "stock_sync_enabled"),
    ("null seller id on update", "integration.updated",
     {"integration_id": "i", "account_id": "a", "app": "rakuten", "seller_id": None},
     "seller_id"),
]


@pytest.mark.parametrize(("name", "type_", "data", "field"), BAD_DATA,
                         ids=[case[0] for case in BAD_DATA])
def test_invalid_data_is_rejected_naming_the_field(
    name: str, type_: str, data: dict[str, Any], field: str
) -> None:
    error = rejection(encode(cloudevent(type_, data)))

    assert error.kind == "invalid_data"
    assert f"data: {field}" in error.reason or f"; {field}" in error.reason


@pytest.mark.parametrize(
    "data",
    [
        installed_data(integration_id="i" * 65),
        installed_data(token=12345, seller_id=SECRET),
        installed_data(token=[SECRET]),
        installed_data(token={"value": SECRET}),
    ],
)
def test_rejection_reason_never_contains_the_token(data: dict[str, Any]) -> None:
    error = rejection(encode(cloudevent("integration.installed", data)))

    assert SECRET not in error.reason
    assert SECRET not in str(error)
    assert SECRET not in repr(error)
    assert error.__cause__ is None and error.__suppress_context__


def test_event_repr_never_shows_the_token() -> None:
    event = parse_inbound(encode(cloudevent("integration.installed", installed_data())), None)

    assert SECRET not in repr(event)
    assert SECRET not in str(event.data)


def test_integration_verified_has_deterministic_id_and_contract_data() -> None:
    args: dict[str, Any] = {
        "integration_id": "int-1", "account_id": "acc-1", "seller_id": "WorldGlobal",
        "rakuten_seller_id": "123456",
        "verified_at": datetime(2024, 3, 1, 10, 0, tzinfo=timezone(timedelta(hours=1))),
        "credentials_version": 2,
    }
    first, again = integration_verified(**args), integration_verified(**args)
    newer = integration_verified(**{**args, "credentials_version": 3})

    assert first["id"] == again["id"] != newer["id"]
    assert first["id"] == str(uuid.uuid5(uuid.NAMESPACE_URL,
                                         "rakuten-integration-verified:int-1:2"))
    assert first["type"] == "integration.verified"
    assert first["source"] == "rakuten-connector"
    assert first["specversion"] == "1.0"
    assert first["datacontenttype"] == "application/json"
    assert first["data"] == {
        "integration_id": "int-1", "account_id": "acc-1", "app": "rakuten",
        "seller_id": "WorldGlobal", "rakuten_seller_id": "123456",
        "verified_at": "2024-03-01T09:00:00Z",
    }
    assert datetime.fromisoformat(first["time"]).tzinfo is not None


def test_verification_failed_id_depends_on_reason_and_credentials_version() -> None:
    def build(reason: Any, version: int) -> dict[str, Any]:
        return verification_failed(integration_id="int-1", account_id="acc-1", reason=reason,
                                   detail="Rakuten refused the token", credentials_version=version)

    event = build("invalid_credentials", 1)

    assert event["id"] == build("invalid_credentials", 1)["id"]
    assert event["id"] == str(uuid.uuid5(
        uuid.NAMESPACE_URL, "rakuten-verification-failed:int-1:1:invalid_credentials"))
    assert len({event["id"], build("rakuten_unavailable", 1)["id"],
                build("invalid_credentials", 2)["id"]}) == 3
    assert event["type"] == "integration.verification_failed"
    assert event["data"]["reason"] == "invalid_credentials"
    assert event["data"]["app"] == "rakuten"


def test_order_imported_id_follows_the_contract_formula() -> None:
    order = {"order_id": "987654321", "status": "new", "items": []}
    event = order_imported(integration_id="int-1", account_id="acc-1", order=order)

    assert event["id"] == str(uuid.uuid5(uuid.NAMESPACE_URL, "rakuten-order:int-1:987654321"))
    assert event["type"] == "order.imported"
    assert event["data"] == {"integration_id": "int-1", "account_id": "acc-1", "app": "rakuten",
                             "order": order}
    json.dumps(event)


def test_stock_sync_failed_id_is_per_integration_import_and_sku() -> None:
    def build(sku: str) -> dict[str, Any]:
        return stock_sync_failed(integration_id="int-1", account_id="acc-1", sku=sku, quantity=4,
                                 import_id="imp-9", error_code="E12", error_text="unknown ref")

    event = build("SKU-1")

    assert event["id"] == build("SKU-1")["id"] != build("SKU-2")["id"]
    assert event["id"] == str(uuid.uuid5(uuid.NAMESPACE_URL,
                                         "rakuten-stock-sync-failed:int-1:imp-9:SKU-1"))
    assert event["data"]["app"] == "rakuten"
    assert event["data"]["quantity"] == 4


def test_outbound_builders_reject_a_naive_verified_at() -> None:
    with pytest.raises(ValueError):
        integration_verified(integration_id="i", account_id="a", seller_id="s",
                             rakuten_seller_id="1", verified_at=datetime(2024, 1, 1),
                             credentials_version=1)
