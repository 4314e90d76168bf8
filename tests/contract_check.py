"""Checks an event against the committed contract files, as another team's tests would.

`assert_conforms` validates a CloudEvent's `data` against `schemas/<type>.json`
(JSON Schema 2020-12, with formats checked) and its envelope against the
envelope of `asyncapi.yaml`; an outbound event's data must also fit its model
exactly (the published schemas let consumers ignore fields added later, the
models do not let the builders add one unannounced). The test helpers call it on
every event the suite publishes and every event it consumes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, FormatChecker

from events.catalog import by_name

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "schemas"
ASYNCAPI = ROOT / "asyncapi.yaml"


class ContractViolation(AssertionError):
    """Raised when an event does not match the committed contract files."""


@cache
def data_validator(event_type: str, schemas: Path = SCHEMAS) -> Draft202012Validator:
    """Return the validator of `schemas/<event_type>.json`."""
    path = schemas / f"{event_type}.json"
    if not path.is_file():
        raise ContractViolation(f"no schema {path} for event type {event_type!r}")
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


@cache
def _envelope_validator(direction: str) -> Draft202012Validator:
    components = yaml.safe_load(ASYNCAPI.read_text(encoding="utf-8"))["components"]["schemas"]
    name = "Envelope" if direction == "inbound" else "OutboundEnvelope"
    return Draft202012Validator(components[name], format_checker=FormatChecker())


def _check(validator: Draft202012Validator, value: Any, what: str) -> None:
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    if errors:
        described = "; ".join(f"{'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
                              for e in errors[:5])
        raise ContractViolation(f"{what} does not match the contract: {described}")


def assert_published_properties(properties: Any, event: Mapping[str, Any]) -> None:
    """Fail unless the AMQP properties of a published event are the contract's."""
    got = (properties.delivery_mode, properties.content_type, properties.message_id)
    if got != (2, "application/cloudevents+json", event.get("id")):
        raise ContractViolation(f"a published {event.get('type')} has AMQP properties {got}: expected "
                                "delivery_mode 2, content type application/cloudevents+json, message_id = id")


def assert_conforms(event: Mapping[str, Any]) -> None:
    """Fail unless `event` (a CloudEvent as a JSON-ready mapping) matches the contract files."""
    event_type = event.get("type")
    known = by_name()
    if event_type not in known:
        raise ContractViolation(f"event type {event_type!r} is not in the contract")
    direction = known[event_type].direction
    _check(_envelope_validator(direction), dict(event), f"the envelope of a {event_type}")
    _check(data_validator(event_type), event["data"], f"the data of a {event_type}")
    if direction == "outbound":
        try:
            known[event_type].data_model.model_validate(event["data"])
        except ValueError as exc:
            raise ContractViolation(f"the data of a {event_type} does not fit its model: {exc}") from exc
