"""Hostile input on the inbox, and one account's events against another account's data.

Hypothesis generates AMQP messages for the running `run`: valid `stock.changed`
events, and mutations of them that break the contract (not JSON, not an object,
a missing or wrong CloudEvents attribute, bad data, a wrong content type, more
than 1 MiB, nesting deep enough to exhaust a recursive parser), plus other
apps' events. Each bad one must be dead-lettered with a reason, each valid one
applied, other apps' events skipped, and the ingress must stay up throughout.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pika
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.rakuten.sandbox import Sandbox
from events.inbound import INBOUND_TYPES, MAX_BODY_BYTES
from events.publisher import properties
from tests.e2e.helpers import inbound, installed, stock_changed
from tests.e2e.reliability_helpers import (
    Shop,
    System,
    Workload,
    assert_parts_alive,
    assert_secrets_kept,
    started_system,
    wait_for,
)
from tests.fixtures.services import ServiceUrls, VhostFactory

pytestmark = pytest.mark.slow

EXAMPLES = 200  #: messages hypothesis generates per run
ACCOUNT = "acc-fuzz"
#: text that PostgreSQL stores and JSON carries as is (no NUL, no lone surrogate)
SAFE_TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=30)
#: text nothing promises to store: NUL and lone surrogates (PostgreSQL refuses both)
NASTY_TEXT = st.sampled_from(["nul\x00byte", "\x00", "lone\ud800surrogate", "\udfff"])


@dataclass
class Message:
    """One message to publish and what must become of it."""

    routing_key: str
    content_type: str | None
    #: builds the body from fresh ids, so examples hypothesis repeats stay distinct events
    body: Callable[[str, str], bytes]
    #: "dead" (dead-lettered), "applied" (its quantity stored), "ignored" (neither),
    #: "survived" (either dead-lettered or applied: the contract does not say which)
    expect: str
    quantity: int | None = None
    what: str = ""


@dataclass
class Published:
    """A message as published, with its AMQP message id and the SKU a valid one sets."""

    message: Message
    message_id: str
    sku: str
    body: bytes = field(repr=False)


def envelope(event_id: str, sku: str, quantity: object, **data: object) -> dict[str, Any]:
    """A valid `stock.changed` CloudEvent as a dict, to mutate."""
    return {
        "specversion": "1.0", "id": event_id, "source": "fuzz", "type": "stock.changed",
        "time": datetime.now(UTC).isoformat(), "datacontenttype": "application/json",
        "data": {"account_id": ACCOUNT, "sku": sku, "quantity": quantity, **data},
    }


def encoded(event: dict[str, Any]) -> bytes:
    return json.dumps(event).encode()


@st.composite
def valid_messages(draw: st.DrawFn) -> Message:
    """A valid `stock.changed`, in any of the shapes the contract allows."""
    quantity = draw(st.integers(0, 2**31 - 1))
    version = draw(st.none() | st.integers(0, 2**63 - 1))
    suffix = draw(SAFE_TEXT)
    extra = draw(st.dictionaries(st.sampled_from(["traceparent", "subject", "x"]), SAFE_TEXT, max_size=2))
    offset = draw(st.sampled_from(["Z", "+00:00", "+02:00", "-05:30"]))
    fraction = draw(st.sampled_from(["", ".5", ".123456", ".123456789"]))
    content_type = draw(st.sampled_from([None, "application/json", "application/cloudevents+json",
                                         "application/cloudevents+json; charset=utf-8"]))
    versioned = {"version": version} if version else {}

    def body(event_id: str, sku: str) -> bytes:
        event = envelope(event_id, (sku + suffix)[:100], quantity, **versioned)
        event["time"] = f"2026-03-01T10:00:00{fraction}{offset}"
        event.update(extra)
        return encoded(event)

    return Message("stock.changed", content_type, body, "applied", quantity, "valid")


#: (what is wrong, how it is wrong) -> a mutation of the valid event dict
MUTATIONS: dict[str, Callable[[dict[str, Any]], object]] = {
    "quantity negative": lambda e: e["data"].update(quantity=-1),
    "quantity a string": lambda e: e["data"].update(quantity="5"),
    "quantity a float": lambda e: e["data"].update(quantity=5.5),
    "quantity a bool": lambda e: e["data"].update(quantity=True),
    "quantity null": lambda e: e["data"].update(quantity=None),
    "quantity missing": lambda e: e["data"].pop("quantity"),
    "sku empty": lambda e: e["data"].update(sku=""),
    "sku too long": lambda e: e["data"].update(sku="s" * 101),
    "sku a number": lambda e: e["data"].update(sku=7),
    "account missing": lambda e: e["data"].pop("account_id"),
    "account empty": lambda e: e["data"].update(account_id=""),
    "version negative": lambda e: e["data"].update(version=-3),
    "version a string": lambda e: e["data"].update(version="3"),
    "no specversion": lambda e: e.pop("specversion"),
    "specversion 0.3": lambda e: e.update(specversion="0.3"),
    "no id": lambda e: e.pop("id"),
    "id empty": lambda e: e.update(id=""),
    "id a number": lambda e: e.update(id=12),
    "no source": lambda e: e.pop("source"),
    "no type": lambda e: e.pop("type"),
    "unknown type": lambda e: e.update(type="stock.updated"),
    "no time": lambda e: e.pop("time"),
    "time without offset": lambda e: e.update(time="2026-03-01T10:00:00"),
    "time as a number": lambda e: e.update(time=1772359200),
    "time garbage": lambda e: e.update(time="yesterday"),
    "data a list": lambda e: e.update(data=[1, 2]),
    "data a string": lambda e: e.update(data="x"),
    "no data": lambda e: e.pop("data"),
    "datacontenttype xml": lambda e: e.update(datacontenttype="application/xml"),
    "integration event without app": lambda e: e.update(
        type="integration.deleted", data={"integration_id": "i", "account_id": ACCOUNT}),
}


def mutation(routing_key: str, what: str) -> Message:
    """A valid event broken by one of `MUTATIONS`."""

    def mutated(event_id: str, sku: str) -> bytes:
        event = envelope(event_id, sku, 5)
        MUTATIONS[what](event)
        return encoded(event)

    return Message(routing_key, None, mutated, "dead", what=what)


@st.composite
def invalid_messages(draw: st.DrawFn) -> Message:
    """A message the contract says to dead-letter."""
    shape = draw(st.sampled_from(["mutation", "body", "content type"]))
    routing_key = draw(st.sampled_from(INBOUND_TYPES))  # whatever the body says
    if shape == "mutation":
        return mutation(routing_key, draw(st.sampled_from(sorted(MUTATIONS))))
    if shape == "content type":
        content_type = draw(st.sampled_from(["text/plain", "application/xml", "application/octet-stream"]))
        return Message(routing_key, content_type, lambda i, s: encoded(envelope(i, s, 5)), "dead",
                       what=f"content type {content_type}")
    raw = draw(st.one_of(
        st.binary(max_size=200).filter(lambda b: not _is_json(b)).map(lambda b: ("garbage bytes", b)),
        st.sampled_from([b"null", b"[]", b"42", b'"stock.changed"', b"true"]).map(
            lambda b: ("not an object", b)),
        st.just(("invalid UTF-8", b'{"specversion": "1.0", "id": "\xff\xfe"}')),
        st.integers(20_000, 100_000).map(lambda n: ("deep nesting", b"[" * n + b"]" * n)),
        st.integers(20_000, 100_000).map(lambda n: ("deep objects", b'{"a":' * n + b"1" + b"}" * n)),
        st.just(("over 1 MiB", b'{"pad": "' + b"x" * MAX_BODY_BYTES + b'"}')),
    ))
    return Message(routing_key, None, lambda i, s: raw[1], "dead", what=raw[0])


@st.composite
def other_messages(draw: st.DrawFn) -> Message:
    """Another app's event (skipped), or contract-valid text PostgreSQL cannot store (survived)."""
    if draw(st.booleans()):
        def other_app(event_id: str, sku: str) -> bytes:
            return encoded(inbound("integration.installed", {
                "integration_id": f"other-{sku}", "account_id": ACCOUNT, "app": "shopify",
                "seller_id": "s", "token": "t"}) | {"id": event_id})

        return Message("integration.installed", None, other_app, "ignored", what="other app")
    nasty = draw(NASTY_TEXT)
    return Message("stock.changed", None, lambda i, s: encoded(envelope(i, s + nasty, 3)), "survived",
                   quantity=3, what=f"sku {nasty!r}")


#: mostly bad messages, with valid ones between them (which must not be held up)
MESSAGES = st.sampled_from(["valid", "valid", "invalid", "invalid", "invalid", "other"]).flatmap(
    lambda kind: {"valid": valid_messages(), "invalid": invalid_messages(), "other": other_messages()}[kind])


def _is_json(body: bytes) -> bool:
    try:
        json.loads(body)
    except ValueError:
        return False
    return True


@pytest.fixture
def system(service_urls: ServiceUrls, vhosts: VhostFactory, sandbox: Sandbox, tmp_path: Path
           ) -> Iterator[System]:
    with started_system(service_urls, vhosts, sandbox, tmp_path) as built:
        yield built


def dead_letters(system: System) -> dict[str, dict[str, Any]]:
    """message id -> headers of every dead letter so far (consumed from `<queue>.dead`)."""
    found: dict[str, dict[str, Any]] = {}
    connection = pika.BlockingConnection(pika.URLParameters(system.amqp_url))
    try:
        channel = connection.channel()
        while (got := channel.basic_get("rakuten.inbox.dead", auto_ack=True))[0] is not None:
            found[str(got[1].message_id)] = dict(got[1].headers or {})
    finally:
        connection.close()
    return found


def text(header: object) -> str:
    """A header value as text (pika gives long strings as bytes or str)."""
    return header.decode() if isinstance(header, bytes) else str(header or "")


def stock_of(system: System) -> dict[str, int]:
    """sku -> quantity stored for the fuzzed account."""
    rows = system.query("SELECT sku, quantity FROM stock_levels WHERE account_id = %s", (ACCOUNT,))
    return {sku: quantity for sku, quantity in rows}


def test_fuzzed_cloudevents_are_dead_lettered_with_a_reason_and_valid_ones_applied(system: System) -> None:
    parts = system.running.children()
    published: list[Published] = []
    connection = pika.BlockingConnection(pika.URLParameters(system.amqp_url))
    channel = connection.channel()
    channel.confirm_delivery()

    def send(message: Message) -> None:
        message_id, sku = str(uuid.uuid4()), f"F{len(published):04d}-"
        body = message.body(message_id, sku)
        props = properties(message_id)
        props.content_type = message.content_type
        channel.basic_publish(system.exchange, message.routing_key, body, props)
        published.append(Published(message, message_id, sku, body))

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(message=MESSAGES)
    def publish(message: Message) -> None:
        send(message)

    try:
        publish()
        for what in MUTATIONS:  # each at least once, whatever hypothesis drew
            send(mutation("stock.changed", what))
    finally:
        connection.close()

    expected_dead = {p.message_id for p in published if p.message.expect == "dead"}
    applied = [p for p in published if p.message.expect == "applied"]
    assert expected_dead and applied, "hypothesis generated both kinds"
    dead: dict[str, dict[str, Any]] = {}

    def all_handled() -> bool:
        dead.update(dead_letters(system))
        stored = stock_of(system)
        survived = [p for p in published if p.message.expect == "survived"]
        return (expected_dead <= dead.keys()
                and all(any(sku.startswith(p.sku) for sku in stored) for p in applied)
                and all(p.message_id in dead or any(s.startswith(p.sku) for s in stored) for p in survived))

    wait_for(all_handled, "every fuzzed message to be dead-lettered or applied", timeout=60)

    by_id = {p.message_id: p for p in published}
    wrongly_dead = [(by_id[i].message.what, by_id[i].body[:200]) for i in dead.keys() - expected_dead
                    if by_id[i].message.expect != "survived"]
    assert wrongly_dead == [], "valid messages were dead-lettered"
    for message_id in expected_dead:
        reason = text(dead[message_id].get("x-rejection-reason"))
        assert reason, f"no reason for {by_id[message_id].message.what}"
    stored = stock_of(system)
    for p in applied:
        skus = [sku for sku in stored if sku.startswith(p.sku)]
        assert len(skus) == 1 and stored[skus[0]] == p.message.quantity, p.message.what
    assert system.query("SELECT count(*) FROM integrations")[0][0] == 0, "another app's event was applied"
    assert_parts_alive(system.running, parts)
    assert system.query("SELECT count(*) FROM inbox")[0][0] == len(applied) + sum(
        1 for p in published if p.message.expect == "survived" and p.message_id not in dead)
    # and the ingress still does its work
    system.publish([stock_changed(ACCOUNT, "after-the-fuzz", 42)])
    wait_for(lambda: stock_of(system).get("after-the-fuzz") == 42, "a valid event after the fuzz", timeout=20)


def snapshot(system: System, shop: Shop) -> dict[str, Any]:
    """What an account owns: its integration, stock levels, orders and Rakuten listings."""
    columns = ("account_id, seller_id, token_encrypted, status, stock_sync_enabled, auto_accept_orders, "
               "application_name, credentials_version, deleted_at")
    return {
        "integration": system.query(f"SELECT {columns} FROM integrations WHERE integration_id = %s",
                                    (shop.integration_id,)),
        "stock": system.query("SELECT sku, quantity, version FROM stock_levels WHERE account_id = %s "
                              "ORDER BY sku", (shop.account_id,)),
        "orders": system.query("SELECT order_id, data::text FROM orders WHERE integration_id = %s",
                               (shop.integration_id,)),
        "listings": system.sandbox.listings(shop.seller.login),
    }


def test_events_for_one_account_never_change_another_accounts_integration_stock_or_orders(
    system: System,
) -> None:
    load = Workload(system, shops=2, skus=6, seed=8)
    mine, theirs = load.shops
    load.install()
    load.add_sales(6)
    load.change_stock(12)
    load.wait_settled()
    before = snapshot(system, theirs)
    # account `mine` names the other account's integration, and changes its own stock
    named = {"integration_id": theirs.integration_id, "account_id": mine.account_id, "app": "rakuten"}
    hostile = [
        inbound("integration.updated", {**named, "seller_id": mine.seller.login, "token": mine.seller.token,
                                        "stock_sync_enabled": False}),
        installed(theirs.integration_id, mine.account_id, mine.seller.login, mine.seller.token),
        inbound("integration.deleted", named),
    ]
    system.publish(hostile)
    load.change_stock(12, [mine])
    load.add_sales(4)

    load.wait_settled()
    dead = dead_letters(system)
    assert {e["id"] for e in hostile} <= dead.keys()
    assert all("IntegrationConflict" in text(dead[e["id"]]["x-rejection-reason"]) for e in hostile)
    after = snapshot(system, theirs)
    assert after["integration"] == before["integration"]
    assert after["stock"] == before["stock"]
    assert after["listings"] == before["listings"]
    # their new sales are theirs; no order of one integration is filed under another account
    assert set(before["orders"]) <= set(after["orders"])
    assert system.query("SELECT count(*) FROM orders o JOIN integrations i USING (integration_id) "
                        "WHERE o.account_id <> i.account_id")[0][0] == 0
    assert load.listings_match()
    for delivery in system.tap.of("order.imported"):
        shop = mine if delivery.event["data"]["integration_id"] == mine.integration_id else theirs
        assert delivery.event["data"]["account_id"] == shop.account_id
    assert_secrets_kept(system, load.tokens)
