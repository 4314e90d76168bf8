"""Turn the JSON given to the control API into sandbox records, validating it on the way."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from connectors.rakuten.sandbox.model import ACCEPTED_STATUSES, FAULT_KINDS, Fault, Item, Sale

PARIS = ZoneInfo("Europe/Paris")
PURCHASE_DATE_FORMAT = "%d/%m/%Y-%H:%M"
MAX_HANG_S = 600.0  #: seconds; a hang fault never sleeps longer than this

#: Address layouts and the shipping type label each one implies by default (rakuten-api.md §8a).
LAYOUT_SHIPPING = {
    "delivery": "Suivi",
    "billing": "So Colissimo",
    "relay": "Point relais Mondial Relay",
}

BUYER_DEFAULTS = {
    "login": "acheteur",
    "email": "acheteur@example.test",
    "first_name": "Jeanne",
    "last_name": "Dupont",
    "civility": "Mme",
    "address1": "1 rue de la Paix",
    "address2": "",
    "zipcode": "75002",
    "city": "Paris",
    "country": "France",
    "countryalpha2": "FX",
    "phone": "0601020304",
}

RELAY_DEFAULTS = {
    "id": "FR-084735",
    "name": "Relais Tabac de la Gare",
    "address": "3 place de la Gare",
    "zipcode": "75010",
    "city": "Paris",
    "country": "France",
}


class SeedError(ValueError):
    """Raised when control-API input does not describe a valid record."""


def paris_now() -> dt.datetime:
    """Return the current Paris local time, naive, to the minute."""
    return dt.datetime.now(PARIS).replace(tzinfo=None, second=0, microsecond=0)


def _text_map(raw: Any, defaults: Mapping[str, str], what: str) -> dict[str, str]:
    """Merge a JSON object of strings over defaults."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise SeedError(f"{what} must be an object")
    unknown = set(raw) - set(defaults)
    if unknown:
        raise SeedError(f"unknown {what} fields: {sorted(unknown)}")
    return {key: str(raw.get(key, value)) for key, value in defaults.items()}


def _flag(value: Any) -> bool:
    """Read a boolean given as JSON true/false or "Y"/"N"."""
    if isinstance(value, str):
        return value.upper() in {"Y", "YES", "TRUE", "1"}
    return bool(value)


def build_item(raw: Any, next_id: Callable[[str], str], advert_ids: Mapping[str, str]) -> Item:
    """Build one Item; its advert id defaults to the listing's advert id for its sku."""
    if not isinstance(raw, Mapping):
        raise SeedError("each item must be an object")
    sku = str(raw.get("sku") or "")  # null or absent: a listing without a seller reference
    advert_id = raw.get("advert_id") or advert_ids.get(sku) or next_id("advert")
    status = str(raw.get("status", "TO_CONFIRM"))
    # A seeded CANCELLED line is one of getcurrentsales (rakuten-api.md §8a) unless told otherwise.
    accepted = raw.get("accepted", status in ACCEPTED_STATUSES or status == "CANCELLED")
    return Item(
        item_id=str(raw.get("item_id") or next_id("item")),
        sku=sku,
        advert_id=str(advert_id),
        title=str(raw.get("title", f"Article {sku}".strip())),
        price=str(raw.get("price", "12.50")),
        currency=str(raw.get("currency", "EUR")),
        status=status,
        payment_status=str(raw.get("payment_status", "INCOMING")),
        is_nego=_flag(raw.get("is_nego", False)),
        is_preorder=_flag(raw.get("is_preorder", False)),
        was_accepted=_flag(accepted),
    )


def build_sale(raw: Any, next_id: Callable[[str], str], advert_ids: Mapping[str, str]) -> Sale:
    """Build one Sale from its JSON description (see the package docstring)."""
    if not isinstance(raw, Mapping):
        raise SeedError("each sale must be an object")
    layout = str(raw.get("layout", "delivery"))
    if layout not in LAYOUT_SHIPPING:
        raise SeedError(f"layout must be one of {sorted(LAYOUT_SHIPPING)}")
    items = raw.get("items")
    if not isinstance(items, list) or not items:
        raise SeedError("a sale needs a non-empty 'items' list")
    purchased = raw.get("purchased_at")
    try:
        when = dt.datetime.strptime(purchased, PURCHASE_DATE_FORMAT) if purchased else None
    except (TypeError, ValueError) as exc:
        raise SeedError("purchased_at must look like 31/12/2024-23:59") from exc
    return Sale(
        purchase_id=str(raw.get("purchase_id") or next_id("purchase")),
        purchased_at=when or paris_now(),
        shipping_type=str(raw.get("shipping_type", LAYOUT_SHIPPING[layout])),
        layout=layout,
        buyer=_text_map(raw.get("buyer"), BUYER_DEFAULTS, "buyer"),
        relay=_text_map(raw.get("relay"), RELAY_DEFAULTS, "relay"),
        items=[build_item(item, next_id, advert_ids) for item in items],
    )


def build_fault(raw: Mapping[str, Any]) -> Fault:
    """Build a Fault from the JSON given to /_sandbox/sellers/{login}/faults."""
    kind = raw.get("kind")
    if kind not in FAULT_KINDS:
        raise SeedError(f"kind must be one of {sorted(FAULT_KINDS)}")
    content_type = str(raw.get("content_type") or "text/xml;charset=ISO-8859-1")
    body = raw.get("body") or b""
    if raw.get("body_base64"):
        body = base64.b64decode(raw["body_base64"])
    elif isinstance(body, str):
        body = body.encode(_charset(content_type), "xmlcharrefreplace")
    actions = raw.get("actions")
    try:
        return Fault(
            kind=str(kind),
            count=int(raw.get("count", 1)),
            actions=frozenset(str(a) for a in actions) if actions else None,
            hang_s=min(float(raw.get("hang_s", 30.0)), MAX_HANG_S),
            size_mb=float(raw.get("size_mb", 1.0)),
            body=bytes(body),
            content_type=content_type,
            status=int(raw["status"]) if raw.get("status") is not None else None,
        )
    except (TypeError, ValueError) as exc:
        raise SeedError(f"invalid fault: {exc}") from exc


def _charset(content_type: str) -> str:
    """Return the charset named in a Content-Type value, UTF-8 when none is."""
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"')
    return "utf-8"
