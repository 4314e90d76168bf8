"""The /_sandbox/ JSON control API (documented in the package docstring)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote

from connectors.rakuten.sandbox.api import SandboxApi
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
    api.set_item_status(login, item_id, str(body.get("status", "")))
    return {"item_id": item_id, "status": body.get("status")}


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


#: (method, last path segment) -> handler for /_sandbox/sellers/{login}/<segment>
SELLER_ROUTES: dict[tuple[str, str], SellerRoute] = {
    ("POST", "listings"): _set_listings,
    ("GET", "listings"): lambda api, login, _: {"listings": api.listings(login)},
    ("POST", "reject_skus"): _set_reject_skus,
    ("POST", "sales"): lambda api, login, body: {"sales": api.add_sales(login, _list(body, "sales"))},
    ("GET", "sales"): lambda api, login, _: {"sales": api.sales(login)},
    ("POST", "faults"): _inject,
    ("GET", "files"): lambda api, login, _: api.files(login),
}


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
    if len(parts) == 4 and parts[0] == "sellers" and parts[2] == "items" and method == "POST":
        return _set_item(api, parts[1], parts[3], body)
    if len(parts) == 5 and parts[0::2] == ["sellers", "sales", "corrupt"] and method == "POST":
        return _corrupt(api, parts[1], parts[3], body)
    if len(parts) == 3 and parts[0] == "sellers":
        handler = SELLER_ROUTES.get((method, parts[2]))
        return handler(api, parts[1], body) if handler else None
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
    except SellerExists as exc:
        return json_reply({"error": str(exc)}, 409)
    except (SeedError, ValueError, TypeError, KeyError) as exc:
        return json_reply({"error": str(exc)}, 400)
    if result is None:
        return json_reply({"error": f"no control route {method} {path}"}, 404)
    return json_reply(result)
