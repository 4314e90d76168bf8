"""`asyncapi.yaml` and `schemas/` are what the models give, and the AsyncAPI parser accepts them."""

from __future__ import annotations

import io
import json
import os
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from pydantic import Field, create_model

from events.catalog import CATALOG, EventType
from events.contract_docs import contract_files, run, stale
from events.inbound_orders import OrderShipped
from tests.contract.tools import ROOT, asyncapi_cli
from workers.cli import main

NAMES = {"exchange": "linkolis.events", "queue": "rakuten.inbox"}
COMMITTED = {"asyncapi": ROOT / "asyncapi.yaml", "schemas": ROOT / "schemas"}
SHIPPED_SAMPLE = {"integration_id": "int-1", "account_id": "acc-1", "app": "rakuten",
                  "order_id": "987654321", "item_ids": ["11"], "carrier": "Colissimo",
                  "tracking_number": "6A123", "tracking_url": "https://example.com/t/6A123"}


def document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMMITTED["asyncapi"].read_text(encoding="utf-8"))
    return loaded


def test_committed_contract_files_are_what_the_models_give() -> None:
    files = contract_files(**COMMITTED, **NAMES)

    assert stale(files, COMMITTED["schemas"]) == [], "run `rakuten-worker contract` and commit the result"
    assert len(files) == 17


def test_the_contract_command_writes_the_files_and_checks_them(tmp_path: Path) -> None:
    paths = ["--asyncapi", str(tmp_path / "asyncapi.yaml"), "--schemas", str(tmp_path / "schemas")]

    assert main(["contract", *paths]) == 0
    assert sorted(p.name for p in (tmp_path / "schemas").iterdir()) == sorted(
        f"{event.name}.json" for event in CATALOG)
    assert main(["contract", *paths, "--check"]) == 0

    (tmp_path / "schemas" / "stock.changed.json").write_text("{}\n")
    (tmp_path / "schemas" / "order.lost.json").write_text("{}\n")
    out = io.StringIO()
    assert run(asyncapi=tmp_path / "asyncapi.yaml", schemas=tmp_path / "schemas", check=True, out=out,
               **NAMES) == 1
    assert "stock.changed.json: differs from the models" in out.getvalue()
    assert "order.lost.json: no such event type" in out.getvalue()


def test_the_contract_names_are_the_contracts_whatever_the_environment_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVENTS_EXCHANGE", "staging.events")
    monkeypatch.setenv("EVENTS_QUEUE", "staging.inbox")

    assert main(["contract", "--asyncapi", str(tmp_path / "a.yaml"), "--schemas", str(tmp_path / "s")]) == 0
    assert (tmp_path / "a.yaml").read_text() == COMMITTED["asyncapi"].read_text()


def changed_catalog() -> list[EventType]:
    """The catalog with a copy of OrderShipped that requires one more field, `carrier_code`."""
    changed = create_model(
        "OrderShipped", __base__=OrderShipped, __doc__=OrderShipped.__doc__,
        carrier_code=(Annotated[str, Field(min_length=1)], ...),
    )
    return [replace(e, data_model=changed) if e.data_model is OrderShipped else e for e in CATALOG]


def test_a_changed_model_field_makes_the_asyncapi_and_schema_checks_fail() -> None:
    files = contract_files(**COMMITTED, **NAMES, catalog=changed_catalog())

    assert stale(files, COMMITTED["schemas"]) == [
        f"{COMMITTED['asyncapi']}: differs from the models",
        f"{COMMITTED['schemas'] / 'order.shipped.json'}: differs from the models",
    ]
    new_schema = json.loads(files[COMMITTED["schemas"] / "order.shipped.json"])
    old_schema = json.loads((COMMITTED["schemas"] / "order.shipped.json").read_text())
    assert Draft202012Validator(old_schema).is_valid(SHIPPED_SAMPLE)
    assert not Draft202012Validator(new_schema).is_valid(SHIPPED_SAMPLE)


def test_the_asyncapi_parser_validates_the_document(tmp_path: Path) -> None:
    settings = tmp_path / "analytics.json"  # no tracking call to the network, no file in $HOME
    settings.write_text(json.dumps({"analyticsEnabled": "false", "infoMessageShown": "true", "userID": "-"}))
    env = {**os.environ, "ASYNCAPI_METRICS_CONFIG_PATH": str(settings), "SUPPRESS_NO_CONFIG_WARNING": "1"}

    result = subprocess.run(
        [str(asyncapi_cli()), "validate", str(COMMITTED["asyncapi"]), "--fail-severity", "warn"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "is valid" in result.stdout


def test_the_asyncapi_parser_rejects_a_document_with_a_broken_binding(tmp_path: Path) -> None:
    broken = document()
    broken["operations"]["sendOrderImported"]["bindings"]["amqp"]["deliveryMode"] = 3
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(broken))
    settings = tmp_path / "analytics.json"
    settings.write_text(json.dumps({"analyticsEnabled": "false", "infoMessageShown": "true", "userID": "-"}))
    env = {**os.environ, "ASYNCAPI_METRICS_CONFIG_PATH": str(settings), "SUPPRESS_NO_CONFIG_WARNING": "1"}

    result = subprocess.run([str(asyncapi_cli()), "validate", str(tmp_path / "broken.yaml")],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, check=False)

    assert result.returncode != 0
    assert "deliveryMode" in result.stdout + result.stderr


def test_the_document_routes_every_contract_type_with_its_bindings() -> None:
    doc = document()
    channels, operations = doc["channels"], doc["operations"]
    inbound = [e.name for e in CATALOG if e.direction == "inbound"]
    outbound = [e.name for e in CATALOG if e.direction == "outbound"]

    assert len(inbound) == 6 and len(outbound) == 10
    assert channels["events"]["address"] == "linkolis.events"
    assert channels["events"]["bindings"]["amqp"]["exchange"] == {
        "name": "linkolis.events", "type": "topic", "durable": True, "autoDelete": False, "vhost": "/"}
    assert channels["inbox"]["bindings"]["amqp"]["queue"]["name"] == "rakuten.inbox"
    assert channels["deadLetters"]["bindings"]["amqp"]["queue"]["name"] == "rakuten.inbox.dead"
    assert set(channels["events"]["messages"]) == set(inbound + outbound)
    assert set(channels["inbox"]["messages"]) == set(inbound)
    for name in inbound + outbound:
        receive = name in inbound
        op = next(o for o in operations.values() if o["messages"][0]["$ref"].endswith(f"/{name}"))
        assert op["action"] == ("receive" if receive else "send")
        assert op["channel"]["$ref"] == ("#/channels/inbox" if receive else "#/channels/events")
        assert op["bindings"]["amqp"]["cc"] == [name]
        if not receive:
            assert op["bindings"]["amqp"]["deliveryMode"] == 2
        message = doc["components"]["messages"][name]
        assert message["contentType"] == "application/cloudevents+json"
        assert message["x-amqp-message-id"] == "$message.payload#/id"
        envelope, specific = message["payload"]["allOf"]
        assert envelope["$ref"].endswith("/Envelope" if receive else "/OutboundEnvelope")
        assert specific["properties"]["type"] == {"const": name}
        assert specific["properties"]["data"]["$ref"].startswith("#/components/schemas/")
    assert doc["components"]["schemas"]["Envelope"]["properties"]["id"]["maxLength"] == 256
