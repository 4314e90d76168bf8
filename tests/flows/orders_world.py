"""Helpers of the order flow tests: a verified shop, its orders' events, and the poll run now."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from connectors.rakuten.sandbox import Sandbox
from db import leases
from tests.flows.harness import World, install
from workers import orders
from workers.claims import claim_now


@dataclass(frozen=True)
class Shop:
    """A verified integration and its seller in the sandbox."""

    integration_id: str
    account_id: str
    login: str


def verified_shop(w: World, sandbox: Sandbox, **extra: Any) -> Shop:
    """Install an integration of a new seller and drive it to verified."""
    suffix = uuid.uuid4().hex[:8]
    shop = Shop(f"int-{suffix}", f"acc-{suffix}", f"Shop{suffix}")
    sandbox.add_seller(shop.login, f"tok-{suffix}")
    w.apply(install(shop.integration_id, shop.account_id, shop.login, f"tok-{suffix}", **extra))
    w.drive_until(lambda: w.outbox("integration.verified", shop.integration_id))
    return shop


def poll(w: World, shop: Shop) -> None:
    """Run one order poll of the shop now, then the work it sent (the World's polls are hourly)."""
    orders.import_orders(w.ctx, shop.integration_id, claim_now(w.ctx, leases.ORDERS, [shop.integration_id]))
    w.run_tasks()


def updates(w: World, shop: Shop, order_id: str | None = None) -> list[dict[str, Any]]:
    """The `order.updated` events of the shop (of one order), oldest first."""
    return [
        e for e in w.outbox("order.updated", shop.integration_id)
        if order_id is None or e["data"]["order"]["order_id"] == order_id
    ]


def changes(event: dict[str, Any]) -> list[tuple[str, str | None, str]]:
    """An `order.updated`'s changes as (item, from, to) triples."""
    return [(c["item_id"], c["from_status"], c["to_status"]) for c in event["data"]["changes"]]


def items(event: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The items of the order an event carries, by item id."""
    return {i["item_id"]: i for i in event["data"]["order"]["items"]}
