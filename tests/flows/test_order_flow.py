"""Order import: every sale once, with its event, whatever polls and workers do."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connectors.rakuten.sandbox import Sandbox
from db import leases
from events.outbound import order_event_id
from tests.fixtures.sandbox import refuse_credentials
from tests.flows.harness import World, install, world
from workers import orders
from workers.claims import claim_now

SAMPLES = Path(__file__).parents[1] / "unit" / "fixtures" / "rakuten"


@pytest.fixture
def wo(fresh_database: str, sandbox: Sandbox) -> Iterator[World]:
    """A World that polls orders every 0.2 s."""
    with world(fresh_database, sandbox, rakuten_order_poll_interval_s=0.2, http_timeout=1.0) as built:
        yield built


def _verified(w: World, sandbox: Sandbox, *, auto_accept: bool = False) -> tuple[str, str, str]:
    suffix = uuid.uuid4().hex[:8]
    integration, account, login, token = f"int-{suffix}", f"acc-{suffix}", f"Shop{suffix}", f"tok-{suffix}"
    sandbox.add_seller(login, token)
    w.apply(install(integration, account, login, token, auto_accept_orders=auto_accept))
    w.drive_until(lambda: w.outbox("integration.verified", integration))
    return integration, account, login


def _orders(w: World, integration: str) -> list[dict[str, Any]]:
    return [e["data"]["order"] for e in w.outbox("order.imported", integration)]


THREE_SALES: list[dict[str, Any]] = [
    {
        "purchase_id": "9001",
        "purchased_at": "15/07/2026-14:05",
        "layout": "delivery",
        "shipping_type": "Suivi",
        "items": [
            {"item_id": "71", "sku": "MUG-1", "price": "10.5", "title": "Mug"},
            {"item_id": "72", "sku": "MUG-1", "price": "10.5", "title": "Mug"},
        ],
    },
    {
        "purchase_id": "9002",
        "purchased_at": "15/01/2026-09:12",
        "layout": "relay",
        "shipping_type": "Point relais Mondial Relay",
        "buyer": {
            "login": "helene",
            "first_name": "Hélène",
            "last_name": "Lefèvre",
            "city": "Nîmes",
            "address1": "12 rue de l'Église",
            "zipcode": "30000",
            "email": "h@example.fr",
        },
        "relay": {
            "id": "R-042",
            "name": "Tabac Chez Frédéric",
            "address": "1 place Garçon",
            "zipcode": "30000",
            "city": "Nîmes",
            "country": "France",
        },
        "items": [{"item_id": "73", "sku": "BOOK-É", "price": "32.0", "title": "Cahier à spirale"}],
    },
    {
        "purchase_id": "9003",
        "layout": "billing",
        "shipping_type": "So Colissimo",
        "items": [{"item_id": "74", "sku": None, "price": "1.6"}],
    },
]


def test_three_sales_produce_exactly_three_orders_with_correct_contents_and_later_polls_add_none(
    wo: World, sandbox: Sandbox
) -> None:
    integration, account, login = _verified(wo, sandbox)
    sandbox.add_sales(login, THREE_SALES)
    wo.drive_until(lambda: len(_orders(wo, integration)) == 3)
    polls = len(sandbox.requests(login=login, action="getnewsales"))
    wo.drive_until(lambda: len(sandbox.requests(login=login, action="getnewsales")) >= polls + 3)
    events = wo.outbox("order.imported", integration)
    assert len(events) == 3
    assert {e["id"] for e in events} == {order_event_id(integration, p) for p in ("9001", "9002", "9003")}
    by_id = {o["order_id"]: o for o in _orders(wo, integration)}
    mugs = by_id["9001"]
    assert [(i["sku"], i["quantity"], i["unit_price"]) for i in mugs["items"]] == [
        ("MUG-1", 1, {"amount": "10.5", "currency": "EUR"})
    ] * 2
    assert Decimal(mugs["total"]["amount"]) == Decimal("21.0") and mugs["status"] == "new"
    assert mugs["ordered_at"] == "2026-07-15T12:05:00Z"  # Paris summer time is UTC+2
    relay = by_id["9002"]
    assert relay["ordered_at"] == "2026-01-15T08:12:00Z"
    assert relay["shipping"]["address"]["first_name"] == "Hélène"
    assert relay["shipping"]["address"]["last_name"] == "Lefèvre"
    assert relay["billing_address"]["city"] == "Nîmes"
    assert relay["shipping"]["pickup_point"]["name"] == "Tabac Chez Frédéric"
    assert relay["shipping"]["pickup_point"]["id"] == "R-042"
    assert relay["items"][0]["title"] == "Cahier à spirale"
    single = by_id["9003"]
    assert single["items"][0]["sku"] is None and single["total"]["amount"] == "1.6"
    assert single["shipping"]["address"] == single["billing_address"] is not None
    assert wo.scalar("SELECT count(*) FROM orders WHERE integration_id = %s", integration) == 3
    assert wo.scalar("SELECT count(*) FROM order_items WHERE integration_id = %s", integration) == 4


def test_the_public_getnewsales_sample_served_as_is_imports_one_order(wo: World, sandbox: Sandbox) -> None:
    integration, account, login = _verified(wo, sandbox)
    body = (SAMPLES / "sample_getnewsales.xml").read_bytes()
    sandbox.inject_fault(
        login, "raw", count=1, actions=["getnewsales"], body=body, content_type="text/xml;charset=ISO-8859-1"
    )
    wo.drive_until(lambda: _orders(wo, integration))
    wo.drive_for(0.5)
    assert len(_orders(wo, integration)) == 1


def test_an_item_added_to_a_known_purchase_is_recorded_and_not_published_again(
    wo: World, sandbox: Sandbox
) -> None:
    integration, account, login = _verified(wo, sandbox)
    sandbox.add_sales(login, [{"purchase_id": "5001", "items": [{"item_id": "1", "sku": "X"}]}])
    wo.drive_until(lambda: _orders(wo, integration))
    sandbox.add_sales(login, [{"purchase_id": "5001", "items": [{"item_id": "2", "sku": "X"}]}])
    sandbox.set_item_status(login, "1", "CANCELLED")
    wo.drive_until(
        lambda: wo.scalar("SELECT count(*) FROM order_changes WHERE integration_id = %s", integration) == 2
    )
    kinds = wo.scalar(
        "SELECT array_agg(kind ORDER BY kind) FROM order_changes WHERE integration_id = %s", integration
    )
    assert kinds == ["item_added", "item_status_changed"]
    assert len(_orders(wo, integration)) == 1


def test_auto_accept_accepts_each_eligible_item_once_and_leaves_the_rest(wo: World, sandbox: Sandbox) -> None:
    integration, account, login = _verified(wo, sandbox, auto_accept=True)
    sandbox.add_sales(
        login,
        [
            {"purchase_id": "6001", "items": [{"item_id": "61", "sku": "A"}, {"item_id": "62", "sku": "A"}]},
            {"purchase_id": "6002", "items": [{"item_id": "63", "sku": "B", "is_nego": True}]},
            {"purchase_id": "6003", "items": [{"item_id": "64", "sku": "C", "payment_status": "PENDING"}]},
        ],
    )
    wo.drive_until(
        lambda: (
            wo.scalar(
                "SELECT count(*) FROM order_items WHERE integration_id = %s AND accept_state = 'accepted'",
                integration,
            )
            == 2
        )
    )
    wo.drive_for(0.5)
    accepts = sandbox.requests(login=login, action="acceptsale")
    assert len(accepts) == 2
    statuses = {i["item_id"]: i["status"] for s in sandbox.sales(login) for i in s["items"]}
    assert statuses == {"61": "ACCEPTED", "62": "ACCEPTED", "63": "TO_CONFIRM", "64": "TO_CONFIRM"}


def test_without_auto_accept_nothing_is_accepted(wo: World, sandbox: Sandbox) -> None:
    integration, account, login = _verified(wo, sandbox)
    sandbox.add_sales(login, [{"purchase_id": "6101", "items": [{"item_id": "611", "sku": "A"}]}])
    wo.drive_until(lambda: _orders(wo, integration))
    wo.drive_for(0.3)
    assert sandbox.requests(login=login, action="acceptsale") == []


def test_two_pollers_at_once_never_duplicate_an_order(wo: World, sandbox: Sandbox) -> None:
    integration, account, login = _verified(wo, sandbox)
    sandbox.add_sales(login, [{"items": [{"sku": f"S{n}"}]} for n in range(300)])
    barrier = threading.Barrier(4)

    def poll() -> None:
        barrier.wait()
        for _ in range(3):
            orders.import_orders(wo.ctx, integration, claim_now(wo.ctx, leases.ORDERS, [integration]))

    threads = [threading.Thread(target=poll) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    wo.drive_until(lambda: len(_orders(wo, integration)) == 300)
    assert len({e["id"] for e in wo.outbox("order.imported", integration)}) == 300
    assert wo.scalar("SELECT count(*) FROM orders WHERE integration_id = %s", integration) == 300


@pytest.mark.parametrize("fault", ["billion_laughs", "hang", "malformed", "http500", "quota"])
def test_one_sellers_broken_responses_do_not_stop_another_sellers_orders(
    wo: World, sandbox: Sandbox, fault: str
) -> None:
    broken, _, broken_login = _verified(wo, sandbox)
    healthy, _, healthy_login = _verified(wo, sandbox)
    sandbox.inject_fault(broken_login, fault, count=50, hang_s=3)
    sandbox.add_sales(broken_login, [{"items": [{"sku": "A"}]}])
    sandbox.add_sales(healthy_login, [{"items": [{"sku": "B"}]}])
    wo.drive_until(lambda: _orders(wo, healthy), timeout=20)
    assert _orders(wo, broken) == []
    assert wo.integration(broken)["status"] == "verified"
    assert wo.integration(broken)["orders_failures"] >= 1


def test_refused_credentials_during_polling_confirmed_by_the_verification_stop_the_integration(
    wo: World, sandbox: Sandbox
) -> None:
    integration, account, login = _verified(wo, sandbox)
    sandbox.add_seller(f"{login}-other", "x")  # the sandbox keeps going for other sellers
    refuse_credentials(sandbox, login, count=100, actions=["getnewsales"])
    wo.drive_until(lambda: wo.integration(integration)["status"] == "invalid_credentials")
    failed = wo.outbox("integration.verification_failed", integration)
    assert [e["data"]["reason"] for e in failed] == ["invalid_credentials"]
    calls = len(sandbox.requests(login=login, action="getnewsales"))
    wo.drive_for(0.6)
    assert len(sandbox.requests(login=login, action="getnewsales")) == calls
