"""The web-service actions after an order's import: tracking, shipping files, refusal,
cancellation and the to-do list (rakuten-api.md §8b), with Rakuten's refusal texts.
"""

from __future__ import annotations

from connectors.rakuten.sandbox import lifecycle, ws_errors
from connectors.rakuten.sandbox.model import Seller, Tracking
from connectors.rakuten.sandbox.shippingfile import ShippingLine, parse_shipping_file
from connectors.rakuten.sandbox.state import SandboxState
from connectors.rakuten.sandbox.stockfile import parse_multipart
from connectors.rakuten.sandbox.ws_actions import Action, WsRequest
from connectors.rakuten.sandbox.xml_lifecycle import (
    cancellation_document,
    refusal_document,
    shipping_import_document,
    todo_document,
    tracking_document,
)

OTHER_TRANSPORTER = "Autre"
#: Rakuten's transporter names (rakuten-api.md §8b). Whether Rakuten ignores case is not
#: known, so the sandbox takes them spelled exactly: a client that sends another spelling fails.
TRANSPORTERS = frozenset({
    "Colis Prive", "So Colissimo", "Colissimo", "Geodis", "WeDo Logistics", "4PX",
    OTHER_TRANSPORTER, "DPD", "Mondial Relay", "Mondial Relay prépayé", "Chronopost", "TNT",
    "UPS", "Fedex", "Tatex", "GLS", "DHL", "France Express", "Kiala", "Cubyn", "DPD Germany",
    "DPD UK", "B2C Europe", "TrackYourParcel", "Yun Express", "China EMS", "Swiss Post",
    "Courrier Suivi", "PostNL International", "Royal Mail", "CNE Express", "S.F. Express",
    "Singapore Post", "Hong Kong Post", "Bpost",
})  # fmt: skip
VIA_FILE = "importitemshippingstatus"
MAX_COMMENT_CHARS = 400  #: characters of a cancellation message to the buyer

LAST_VERSIONS = {
    "settrackingpackageinfos": "2016-03-16",
    "importitemshippingstatus": "2021-06-29",
    "refusesale": "2010-09-20",
    "cancelitem": "2011-02-02",
    "getitemtodolist": "2011-09-01",
}


def _item_id(request: WsRequest) -> str:
    """Return the mandatory, numeric itemid parameter."""
    item_id = request.param("itemid")
    if not item_id.isdigit():
        raise ws_errors.invalid("itemid")
    return item_id


def set_tracking_package_infos(state: SandboxState, seller: Seller, request: WsRequest) -> bytes:
    """Answer settrackingpackageinfos: record one accepted item's carrier and tracking."""
    item_id = _item_id(request)
    transporter = request.param("transporter_name")
    number = request.param("tracking_number")
    url = request.query.get("tracking_url", "").strip()
    if transporter not in TRANSPORTERS:
        raise ws_errors.invalid("transporter_name")
    if transporter == OTHER_TRANSPORTER and not url:
        raise ws_errors.missing("tracking_url")
    with state.seller(seller.login) as current:
        found = current.items.get(item_id)
        if found is None:
            raise ws_errors.article(item_id, ws_errors.UNKNOWN_ARTICLE)
        lifecycle.ship(*found, Tracking(transporter, number, url, "settrackingpackageinfos"))
    echo = {"itemid": item_id, "trackingNumber": number, "trackingUrl": url, "transporterName": transporter}
    last_version = LAST_VERSIONS["settrackingpackageinfos"]
    return tracking_document(request.param("version"), seller.login, echo, last_version=last_version)


def _line_refusal(seller: Seller, line: ShippingLine, seen: set[str]) -> str | None:
    """Return the text refusing one line of a shipping file, or None when it can be applied."""
    found = seller.items.get(line.item_id)
    if found is None or found[0].purchase_id != line.purchase_id:
        return ws_errors.article_text(line.item_id, ws_errors.UNKNOWN_ARTICLE)
    if line.transporter not in TRANSPORTERS:
        return ws_errors.article_text(line.item_id, "transporteur incorrect")
    if line.transporter == OTHER_TRANSPORTER and line.tracking_number and not line.tracking_url:
        return ws_errors.article_text(line.item_id, "url de suivi obligatoire")
    refusal = ws_errors.ALREADY_SHIPPED if line.item_id in seen else lifecycle.shipping_refusal(found[1])
    seen.add(line.item_id)
    return ws_errors.article_text(line.item_id, refusal) if refusal else None


def import_item_shipping_status(state: SandboxState, seller: Seller, request: WsRequest) -> bytes:
    """Answer importitemshippingstatus: apply every line, or none and name the refused ones."""
    parts = [p for p in parse_multipart(request.content_type, request.body) if p.name == "file"]
    if request.method != "POST" or not parts:
        raise ws_errors.missing("file")
    lines = parse_shipping_file(parts[0].content)
    if any(not line.item_id or not line.purchase_id for line in lines):
        raise ws_errors.unreadable_file()
    state.count_items(seller.login, VIA_FILE, [line.item_id for line in lines])
    with state.seller(seller.login) as current:
        seen: set[str] = set()
        refusals = [text for line in lines if (text := _line_refusal(current, line, seen))]
        if refusals:
            raise ws_errors.articles(refusals)
        for line in lines:
            tracking = Tracking(line.transporter, line.tracking_number, line.tracking_url, VIA_FILE)
            lifecycle.ship(*current.items[line.item_id], tracking)
    last_version = LAST_VERSIONS[VIA_FILE]
    return shipping_import_document(request.param("version"), seller.login, last_version=last_version)


def refuse_sale(state: SandboxState, seller: Seller, request: WsRequest) -> bytes:
    """Answer refusesale: refuse one item still awaiting acceptance."""
    item_id = _item_id(request)
    with state.seller(seller.login) as current:
        found = current.items.get(item_id)
        if found is None:
            raise ws_errors.invalid("itemid")
        lifecycle.refuse(*found)
    version = request.param("version")
    return refusal_document(version, seller.login, item_id, last_version=LAST_VERSIONS["refusesale"])


def cancel_item(state: SandboxState, seller: Seller, request: WsRequest) -> bytes:
    """Answer cancelitem: cancel one accepted, unshipped item with a message to the buyer."""
    item_id = _item_id(request)
    comment = request.param("comment")
    if len(comment) > MAX_COMMENT_CHARS:
        raise ws_errors.comment_too_long()
    with state.seller(seller.login) as current:
        found = current.items.get(item_id)
        if found is None:
            raise ws_errors.invalid("itemid")
        lifecycle.cancel_by_seller(*found, comment)
    version = request.param("version")
    return cancellation_document(
        version, seller.login, item_id, comment, last_version=LAST_VERSIONS["cancelitem"]
    )


def get_item_todo_list(state: SandboxState, seller: Seller, request: WsRequest) -> bytes:
    """Answer getitemtodolist: every item with a cause, read-only."""
    with state.seller(seller.login) as current:
        items = [(item.item_id, sorted(item.causes)) for _, item in current.items.values() if item.causes]
    version = request.param("version")
    return todo_document(
        version, seller.login, seller.seller_id, items, last_version=LAST_VERSIONS["getitemtodolist"]
    )


#: (path, action) -> (handler, pro accounts only)
LIFECYCLE_ACTIONS: dict[tuple[str, str], tuple[Action, bool]] = {
    ("/sales_ws", "settrackingpackageinfos"): (set_tracking_package_infos, False),
    ("/sales_ws", "importitemshippingstatus"): (import_item_shipping_status, False),
    ("/sales_ws", "refusesale"): (refuse_sale, False),
    ("/sales_ws", "cancelitem"): (cancel_item, False),
    ("/sales_ws", "getitemtodolist"): (get_item_todo_list, False),
}
