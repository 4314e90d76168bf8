"""The Rakuten web-service actions the sandbox implements, once the caller is authenticated."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from connectors.rakuten.sandbox import imports, ws_errors
from connectors.rakuten.sandbox.lifecycle import CURRENT_VIEW, NEW_VIEW, in_current_sales, in_new_sales
from connectors.rakuten.sandbox.model import Seller
from connectors.rakuten.sandbox.state import SandboxState, now
from connectors.rakuten.sandbox.stockfile import parse_multipart
from connectors.rakuten.sandbox.xml_out import accept_document, import_document
from connectors.rakuten.sandbox.xml_report import report_document
from connectors.rakuten.sandbox.xml_sales import sale_fragment, sales_document

#: Newest version of each action, reported as response/lastversion (rakuten-api.md §6).
LAST_VERSIONS = {
    "getnewsales": "2017-08-07",
    "getcurrentsales": "2021-10-29",
    "acceptsale": "2021-04-08",
    "genericimportfile": "2015-02-02",
    "genericimportreport": "2017-02-10",
}


@dataclass(frozen=True)
class WsRequest:
    """A web-service call: its query parameters (first value of each) and body."""

    method: str
    path: str
    query: Mapping[str, str]
    content_type: str = ""
    body: bytes = b""

    def param(self, name: str) -> str:
        """Return a mandatory parameter, or raise ParameterError when absent or empty."""
        value = self.query.get(name, "").strip()
        if not value:
            raise ws_errors.missing(name)
        return value


Action = Callable[[SandboxState, Seller, WsRequest], bytes]


def _encode_token(*fields: str) -> str:
    """Return an opaque paging token carrying the given fields."""
    return base64.urlsafe_b64encode("|".join(fields).encode()).decode().rstrip("=")


def _decode_token(token: str, count: int) -> list[str]:
    """Read a token made by _encode_token, or raise ParameterError."""
    try:
        fields = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode().split("|")
    except ValueError as exc:
        raise ws_errors.invalid("nexttoken") from exc
    if len(fields) != count or not fields[0].isdigit():
        raise ws_errors.invalid("nexttoken")
    return fields


def _since(raw: str) -> dt.date:
    """Read the purchasedate filter, given as YYYY-MM-DD (or dd/mm/yyyy)."""
    for layout in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(raw, layout).date()
        except ValueError:
            continue
    raise ws_errors.invalid("purchasedate")


def get_new_sales(state: SandboxState, seller: Seller, request: WsRequest) -> bytes:
    """Answer getnewsales: every sale awaiting acceptance or ended before it; no paging."""
    with state.seller(seller.login) as current:
        fragments = [sale_fragment(s, NEW_VIEW) for s in current.sales.values() if in_new_sales(s)]
    return sales_document(
        "getnewsales",
        version=request.param("version"),
        last_version=LAST_VERSIONS["getnewsales"],
        user=seller.login,
        seller_id=seller.seller_id,
        sales=fragments,
    )


def get_current_sales(state: SandboxState, seller: Seller, request: WsRequest) -> bytes:
    """Answer getcurrentsales: sales past acceptance, paged by nexttoken.

    The token holds the position of the last sale served, not an offset: a sale that
    leaves the list between two pages moves no other sale past the reader.
    """
    token = request.query.get("nexttoken", "")
    after, since_text = (-1, request.query.get("purchasedate", "").strip())
    if token:
        fields = _decode_token(token, 2)
        after, since_text = int(fields[0]), fields[1]
    since = _since(since_text) if since_text else None
    size = max(state.config.sales_page_size, 1)
    with state.seller(seller.login) as current:
        matching = [
            sale
            for sale in current.sales.values()
            if sale.seq > after
            and (since is None or sale.purchased_at.date() >= since)
            and in_current_sales(sale)
        ]
        page = matching[:size]
        fragments = [sale_fragment(sale, CURRENT_VIEW) for sale in page]
    more = len(matching) > size
    echo = {"nexttoken": token} if token else {}
    if since is not None:
        echo["purchasedate"] = since.strftime("%d/%m/%Y")
    return sales_document(
        "getcurrentsales",
        version=request.param("version"),
        last_version=LAST_VERSIONS["getcurrentsales"],
        user=seller.login,
        seller_id=seller.seller_id,
        sales=fragments,
        echo=echo,
        next_token=_encode_token(str(page[-1].seq), since_text) if more else "",
    )


def accept_sale(state: SandboxState, seller: Seller, request: WsRequest) -> bytes:
    """Answer acceptsale: mark one awaiting item ACCEPTED."""
    item_id = request.param("itemid")
    state.accept(seller, item_id)
    return accept_document(
        request.param("version"),
        seller.login,
        item_id,
        request.query.get("shippingfromcountry"),
        last_version=LAST_VERSIONS["acceptsale"],
    )


def generic_import_file(state: SandboxState, seller: Seller, request: WsRequest) -> bytes:
    """Answer genericimportfile: store the multipart `file` part for later processing."""
    parts = [p for p in parse_multipart(request.content_type, request.body) if p.name == "file"]
    if request.method != "POST" or not parts:
        raise ws_errors.missing("file")
    with state.seller(seller.login) as current:
        record = imports.receive(
            current,
            state.config,
            import_id=state.next_id("import"),
            filename=parts[0].filename or "file.xml",
            content=parts[0].content,
            now=now(),
        )
    return import_document(request.param("version"), seller.login, record.import_id)


def generic_import_report(state: SandboxState, seller: Seller, request: WsRequest) -> bytes:
    """Answer genericimportreport: the file summary and one page of product lines."""
    file_id = request.param("fileid")
    token = request.query.get("nexttoken", "")
    offset = int(_decode_token(token, 1)[0]) if token else 0
    size = max(state.config.report_page_size, 1)
    with state.seller(seller.login) as current:
        record = current.imports.get(file_id)
        if record is None:
            raise ws_errors.invalid("fileid")
        page = record.results[offset : offset + size]
        more = offset + size < len(record.results)
        echo = {"fileid": file_id, **({"nexttoken": token} if token else {})}
        return report_document(
            record,
            page,
            version=request.param("version"),
            last_version=LAST_VERSIONS["genericimportreport"],
            user=seller.login,
            echo=echo,
            next_token=_encode_token(str(offset + size)) if more else None,
        )


#: (path, action) -> (handler, pro accounts only)
ACTIONS: dict[tuple[str, str], tuple[Action, bool]] = {
    ("/sales_ws", "getnewsales"): (get_new_sales, False),
    ("/sales_ws", "getcurrentsales"): (get_current_sales, False),
    ("/sales_ws", "acceptsale"): (accept_sale, False),
    ("/stock_ws", "genericimportfile"): (generic_import_file, True),
    ("/stock_ws", "genericimportreport"): (generic_import_report, True),
}
