"""The demo's story: a Rakuten shop, its sales, the events other services send, and how to show them.

Nothing here talks to a service: these functions build the sandbox's seed data and
the inbound CloudEvents, and turn what the worker published into readable lines.
"""

from __future__ import annotations

import random
import secrets
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connectors.rakuten.sandbox import Sandbox
from events.inbound import INTEGRATION_INSTALLED, STOCK_CHANGED

SELLER_LOGIN = "WorldGlobal"  #: the shop name the merchant types in the install form
ACCOUNT_ID = "demo-merchant"
EVENTS_PER_SKU = 5  #: stock.changed events per SKU in the burst

#: sku -> (title, price, quantity listed on Rakuten at the start)
CATALOGUE: dict[str, tuple[str, str, int]] = {
    "WG-MUG-BLEU": ("Mug bleu 350 ml", "12.90", 24),
    "WG-THEIERE-FONTE": ("Théière en fonte 0,8 L", "39.00", 8),
    "WG-LAMPE-LED": ("Lampe de bureau LED", "29.90", 15),
    "WG-CARNET-A5": ("Carnet A5 ligné", "6.50", 60),
    "WG-SAC-TOILE": ("Sac en toile bio", "9.90", 40),
    "WG-BOUGIE-FIGUE": ("Bougie parfumée figue", "14.50", 18),
    "WG-PLAID-LAINE": ("Plaid en laine", "49.00", 6),
    "WG-TASSES-EXPRESSO": ("Tasses à expresso (lot de 2)", "17.90", 12),
    "WG-CADRE-PHOTO": ("Cadre photo 13x18", "11.00", 30),
    "WG-COUSSIN-LIN": ("Coussin en lin lavé", "24.00", 10),
}


@dataclass(frozen=True)
class Shop:
    """The demo seller as the sandbox knows it."""

    login: str
    token: str
    seller_id: str


def _item(sku: str) -> dict[str, str]:
    title, price, _ = CATALOGUE[sku]
    return {"sku": sku, "title": title, "price": price}


SALES: list[dict[str, Any]] = [
    {  # two units of one SKU: Rakuten sends two items
        "layout": "delivery",
        "buyer": {"login": "marc.dubois", "email": "marc.dubois@example.test", "first_name": "Marc",
                  "last_name": "Dubois", "civility": "M.", "address1": "8 rue Mercière",
                  "zipcode": "69002", "city": "Lyon"},
        "items": [_item("WG-MUG-BLEU"), _item("WG-MUG-BLEU")],
    },
    {  # accented names (Rakuten answers in ISO-8859-1), delivered to a pickup point
        "layout": "relay",
        "buyer": {"login": "helene.lefevre", "email": "h.lefevre@example.test", "first_name": "Hélène",
                  "last_name": "Lefèvre", "civility": "Mme", "address1": "12 rue de l'Écluse",
                  "zipcode": "30000", "city": "Nîmes"},
        "relay": {"id": "FR-030214", "name": "Tabac-Presse des Arènes",
                  "address": "4 boulevard des Arènes", "zipcode": "30000", "city": "Nîmes",
                  "country": "France"},
        "items": [_item("WG-THEIERE-FONTE")],
    },
    {  # one item, shipped to the billing address
        "layout": "billing",
        "buyer": {"login": "paul.martin", "email": "paul.martin@example.test", "first_name": "Paul",
                  "last_name": "Martin", "civility": "M.", "address1": "27 avenue Jean Médecin",
                  "zipcode": "06000", "city": "Nice"},
        "items": [_item("WG-LAMPE-LED")],
    },
]


def seed_sandbox(sandbox: Sandbox) -> Shop:
    """Create the demo seller, its listings and its three new sales in the sandbox."""
    token = secrets.token_hex(16)
    seller_id = sandbox.add_seller(SELLER_LOGIN, token, seller_id=str(random.randint(1_000_000, 9_999_999)))
    sandbox.set_listings(SELLER_LOGIN, {sku: qty for sku, (_, _, qty) in CATALOGUE.items()})
    sandbox.add_sales(SELLER_LOGIN, SALES)
    return Shop(SELLER_LOGIN, token, seller_id)


def _cloudevent(event_type: str, source: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": source,
        "type": event_type,
        "time": datetime.now(UTC).isoformat(),
        "datacontenttype": "application/json",
        "data": data,
    }


def installed_event(shop: Shop, integration_id: str) -> dict[str, Any]:
    """The install service's `integration.installed`, with the token pasted with spaces around it."""
    return _cloudevent(INTEGRATION_INSTALLED, "demo/install-service", {
        "integration_id": integration_id,
        "account_id": ACCOUNT_ID,
        "app": "rakuten",
        "application_name": "Rakuten",
        "seller_id": shop.login,
        "token": f"  {shop.token} \n",
        "stock_sync_enabled": True,
    })


def stock_burst(rng: random.Random) -> list[dict[str, Any]]:
    """The inventory service's `stock.changed` events: versions 1..N per SKU, shuffled."""
    events = [
        _cloudevent(STOCK_CHANGED, "demo/inventory-service", {
            "account_id": ACCOUNT_ID, "sku": sku, "quantity": rng.randint(0, 40), "version": version,
        })
        for sku in CATALOGUE
        for version in range(1, EVENTS_PER_SKU + 1)
    ]
    rng.shuffle(events)
    return events


def stock_followup(rng: random.Random, *, skus: int = 3) -> list[dict[str, Any]]:
    """More `stock.changed` for a few SKUs, newer than the burst's (versions N+1..N+3), shuffled."""
    events = [
        _cloudevent(STOCK_CHANGED, "demo/inventory-service", {
            "account_id": ACCOUNT_ID, "sku": sku, "quantity": rng.randint(0, 40), "version": version,
        })
        for sku in rng.sample(sorted(CATALOGUE), skus)
        for version in range(EVENTS_PER_SKU + 1, EVENTS_PER_SKU + 4)
    ]
    rng.shuffle(events)
    return events


def newest_quantities(events: Sequence[dict[str, Any]]) -> dict[str, int]:
    """The quantity of the highest version per SKU: what Rakuten must show in the end."""
    newest: dict[str, tuple[int, int]] = {}
    for event in events:
        data = event["data"]
        if data["sku"] not in newest or data["version"] > newest[data["sku"]][0]:
            newest[data["sku"]] = (data["version"], data["quantity"])
    return {sku: quantity for sku, (_, quantity) in newest.items()}


def stale_count(events: Sequence[dict[str, Any]]) -> int:
    """How many events come after a newer version of their SKU (the worker must ignore them)."""
    seen: dict[str, int] = {}
    stale = 0
    for event in events:
        sku, version = event["data"]["sku"], event["data"]["version"]
        if version < seen.get(sku, -1):
            stale += 1
        seen[sku] = max(version, seen.get(sku, -1))
    return stale


def _buyer(order: dict[str, Any]) -> str:
    address = order["shipping"]["address"] or {}
    name = " ".join(part for part in (address.get("first_name"), address.get("last_name")) if part)
    login = order["buyer"]["login"]
    return f"{name} ({login})" if name else str(login)


def _items(order: dict[str, Any]) -> str:
    counts = Counter(item["sku"] or item["title"] for item in order["items"])
    return ", ".join(f"{count} × {sku}" for sku, count in counts.items())


def _destination(order: dict[str, Any], arrow: str) -> str:
    shipping = order["shipping"]
    point, address = shipping["pickup_point"], shipping["address"] or {}
    if point:
        return f"{shipping['type']} {arrow} pickup point {point['name']} ({point['id']}), {_town(point)}"
    return f"{shipping['type']} {arrow} {address.get('line1') or ''}, {_town(address)}"


def _town(place: dict[str, Any]) -> str:
    return f"{place.get('zip_code') or ''} {place.get('city') or ''}".strip()


def order_lines(orders: Sequence[dict[str, Any]], *, arrow: str = "→") -> list[str]:
    """Two aligned lines per order: id, buyer, items, total and status; then where it ships."""
    rows = [(o["order_id"], _buyer(o), _items(o), f"{o['total']['amount']} {o['total']['currency']}", o)
            for o in sorted(orders, key=lambda o: str(o["order_id"]))]
    width_buyer = max(len(r[1]) for r in rows)
    width_items = max(len(r[2]) for r in rows)
    width_total = max(len(r[3]) for r in rows)
    lines = []
    for order_id, buyer, items, total, order in rows:
        status = "new, to accept" if order["status"] == "new" else order["status"]
        lines.append(f"#{order_id}  {buyer:<{width_buyer}}  {items:<{width_items}}  "
                     f"{total:>{width_total}}  ({status})")
        lines.append(f"{' ' * (len(order_id) + 3)}{_destination(order, arrow)}")
    return lines
