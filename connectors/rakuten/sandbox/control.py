"""The /_sandbox/ JSON control API (documented in the package docstring)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote

from connectors.rakuten.sandbox.api import SandboxApi
from connectors.rakuten.sandbox.lifecycle import ItemConflict
from connectors.rakuten.sandbox.reply import Reply, json_reply
from connectors.rakuten.sandbox.seed import SeedError
from connectors.rakuten.sandbox.state import SellerExists, UnknownSeller

PREFIX = "/_sandbox/"

Body = dict[str, Any]
SellerRoute = Callable[[SandboxApi, str, Body], Any]


def _list(body: Body, key: str) -> list[Any]:
    """Return the JSON list under `key`, or raise SeedError."""
    value = body.get(key)
    if not isinstance(value, list):
        raise SeedError(f"'{key}' must be a list")
    return value


def _flag(body: Body, key: str, default: bool = True) -> bool:
    """Return the JSON boolean under `key`, or raise SeedError."""
    value = body.get(key, default)
    if not isinstance(value, bool):
        raise SeedError(f"'{key}' must be true or false")
    return value


def _text(body: Body, key: str) -> str | None:
    """Return the string under `key` (None when absent), or raise SeedError."""
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise SeedError(f"'{key}' must be a string")
    return value


def _add_seller(api: SandboxApi, body: Body) -> Any:
    """POST /_sandbox/sellers."""
    seller_id = api.add_seller(
        str(body.get("login", "")),
        str(body.get("token", "")),
        seller_id=str(body["seller_id"]) if body.get("seller_id") else None,
        pro=bool(body.get("pro", True)),
    )
    return {"login": body["login"], "seller_id": seller_id}


def _set_item(api: SandboxApi, login: str, item_id: str, body: Body) -> Any:
    """POST /_sandbox/sellers/{login}/items/{item_id}."""
    status = str(body.get("status", "")).strip()
    if not status:
        raise SeedError("'status' is required")
    api.set_item_status(login, item_id, status)
    return {"item_id": item_id, "status": status}


def _corrupt(api: SandboxApi, login: str, purchase_id: str, body: Body) -> Any:
    """POST /_sandbox/sellers/{login}/sales/{purchase_id}/corrupt."""
    texts = body.get("texts", {})
    if not isinstance(texts, dict):
        raise SeedError("'texts' must be an object")
    api.corrupt_sale(login, purchase_id, texts)
    return {"purchase_id": purchase_id, "texts": texts}


def _inject(api: SandboxApi, login: str, body: Body) -> Any:
    """POST /_sandbox/sellers/{login}/faults."""
    options = {key: value for key, value in body.items() if key != "kind"}
    api.inject_fault(login, str(body.get("kind", "")), **options)
    return {"ok": True}


def _set_listings(api: SandboxApi, login: str, body: Body) -> Any:
    """POST /_sandbox/sellers/{login}/listings."""
    api.set_listings(login, _list(body, "listings"))
    return {"listings": api.listings(login)}


def _set_reject_skus(api: SandboxApi, login: str, body: Body) -> Any:
    """POST /_sandbox/sellers/{login}/reject_skus."""
    api.set_reject_skus(login, _list(body, "skus"))
    return {"ok": True}


ItemRoute = Callable[[SandboxApi, str, str, Body], Any]

#: verb -> handler for POST /_sandbox/sellers/{login}/items/{item_id}/<verb>
ITEM_ROUTES: dict[str, ItemRoute] = {
    "cancel": lambda api, login, item, body: api.buyer_cancel(login, item, visible=_flag(body, "visible")),
    "claim": lambda api, login, item, _: api.open_claim(login, item),
    "close_claim": lambda api, login, item, body: api.close_claim(login, item, status=_text(body, "status")),
    "messages": lambda api, login, item, body: api.add_message(login, item, str(body.get("from", ""))),
    "read_messages": lambda api, login, item, _: api.read_messages(login, item),
}

#: verb -> handler for POST /_sandbox/sellers/{login}/sales/{purchase_id}/<verb>
SALE_ROUTES: dict[str, ItemRoute] = {
    "items": lambda api, login, purchase, body: api.add_items(login, purchase, _list(body, "items")),
    "lapse": lambda api, login, purchase, _: api.lapse(login, purchase),
    "corrupt": _corrupt,
}

#: (method, last path segment) -> handler for /_sandbox/sellers/{login}/<segment>
SELLER_ROUTES: dict[tuple[str, str], SellerRoute] = {
    ("POST", "listings"): _set_listings,
    ("GET", "listings"): lambda api, login, _: {"listings": api.listings(login)},
    ("POST", "reject_skus"): _set_reject_skus,
    ("POST", "sales"): lambda api, login, body: {"sales": api.add_sales(login, _list(body, "sales"))},
    ("GET", "sales"): lambda api, login, _: {"sales": api.sales(login)},
    ("POST", "faults"): _inject,
    ("GET", "files"): lambda api, login, _: api.files(login),
    ("GET", "calls"): lambda api, login, _: api.calls(login),
}


def _seller_route(api: SandboxApi, method: str, parts: list[str], body: Body) -> Any:
    """Dispatch /_sandbox/sellers/{login}/...; None when no route matches."""
    login, rest = parts[1], parts[2:]
    if len(rest) == 1:
        handler = SELLER_ROUTES.get((method, rest[0]))
        return handler(api, login, body) if handler else None
    if len(rest) == 2 and rest[0] == "items":
        if method == "GET":
            return api.item(login, rest[1])
        return _set_item(api, login, rest[1], body) if method == "POST" else None
    routes = {"items": ITEM_ROUTES, "sales": SALE_ROUTES}.get(rest[0]) if len(rest) == 3 else None
    route = routes.get(rest[2]) if routes is not None and method == "POST" else None
    return route(api, login, rest[1], body) if route else None


def _route(api: SandboxApi, method: str, parts: list[str], query: Mapping[str, str], body: Body) -> Any:
    """Dispatch a control call by its path segments; None when no route matches."""
    if parts == ["reset"] and method == "POST":
        api.reset()
        return {"ok": True}
    if parts == ["config"]:
        return api.configure(**body) if method == "POST" else api.config
    if parts == ["requests"] and method == "GET":
        return api.requests(login=query.get("login"), action=query.get("action"))
    if parts == ["sellers"] and method == "POST":
        return _add_seller(api, body)
    if len(parts) >= 3 and parts[0] == "sellers":
        return _seller_route(api, method, parts, body)
    return None


def handle(api: SandboxApi, method: str, path: str, query: Mapping[str, str], raw: bytes) -> Reply:
    """Answer one control call with JSON: 200, 400 (bad input), 404 (unknown), 409 (duplicate)."""
    parts = [unquote(part) for part in path[len(PREFIX) :].strip("/").split("/")]
    try:
        body = json.loads(raw) if raw.strip() else {}
        if not isinstance(body, dict):
            raise SeedError("the body must be a JSON object")
        result = _route(api, method, parts, query, body)
    except UnknownSeller as exc:
        return json_reply({"error": f"unknown seller {exc.args[0]!r}"}, 404)
    except (SellerExists, ItemConflict) as exc:
        return json_reply({"error": str(exc)}, 409)
    except (SeedError, ValueError, TypeError, KeyError) as exc:
        return json_reply({"error": str(exc)}, 400)
    if result is None:
        return json_reply({"error": f"no control route {method} {path}"}, 404)
    return json_reply(result)
