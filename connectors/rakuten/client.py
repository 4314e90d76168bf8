"""HTTP client for Rakuten France's seller web services (sales_ws and stock_ws).

One :class:`RakutenClient` holds one pooled ``httpx.Client``; credentials travel with
each call, so a single client serves every seller. Rakuten wants the token in the query
string as ``pwd``; it is added by :class:`_TokenTransport` only as the request leaves,
so the URLs httpx logs and attaches to its exceptions never hold it. Every error leaving
this module is also scrubbed of the token, as a second line of defence.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import date
from types import TracebackType
from typing import TypeVar

import httpx

from .errors import RakutenError, RakutenResponseInvalid, RakutenUnavailable, redact
from .models import Credentials, ImportReport, Sale
from .parse import import_id_from_root, interpret_response, required_text
from .parse_report import ReportPage, build_report, report_page_from_root
from .parse_sales import sales_from_root
from .xml import Element

__all__ = ["RakutenClient"]

logger = logging.getLogger(__name__)

P = TypeVar("P")

SALES_PATH = "/sales_ws"
STOCK_PATH = "/stock_ws"
SALES_VERSION = "2017-08-07"
ACCEPT_VERSION = "2021-04-08"
IMPORT_FILE_VERSION = "2015-02-02"
IMPORT_REPORT_VERSION = "2017-02-10"
#: pages; a guard against a server that keeps handing out nexttokens.
DEFAULT_MAX_PAGES = 200
_TOKEN_EXTENSION = "rakuten_pwd"


class _TokenTransport(httpx.BaseTransport):
    """Add the ``pwd`` query parameter at the last moment, below httpx's logging."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        extensions = dict(request.extensions)
        token = extensions.pop(_TOKEN_EXTENSION, None)
        if isinstance(token, str):
            request = httpx.Request(
                request.method,
                request.url.copy_add_param("pwd", token),
                headers=request.headers,
                stream=request.stream,
                extensions=extensions,
            )
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


class RakutenClient:
    """Call Rakuten's seller web services; every method takes the seller's credentials."""

    def __init__(
        self,
        *,
        base_url: str,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        max_response_bytes: int = 32 * 1024 * 1024,
        user_agent: str = "rakuten-connector",
        max_pages: int = DEFAULT_MAX_PAGES,
        proxy: str | None = None,
    ) -> None:
        self._max_response_bytes = max_response_bytes
        self._max_pages = max_pages
        # Our own transport is always set, so httpx ignores HTTPS_PROXY & co: pass `proxy`.
        inner = transport if transport is not None else httpx.HTTPTransport(proxy=proxy)
        self._http = httpx.Client(
            base_url=base_url,
            timeout=httpx.Timeout(timeout),
            transport=_TokenTransport(inner),
            headers={"User-Agent": user_agent},
            follow_redirects=False,
        )

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()

    def __enter__(self) -> RakutenClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def check_credentials(self, creds: Credentials) -> str:
        """Return the seller's numeric id (as text) if Rakuten accepts the credentials.

        Uses getnewsales, which is read-only and open to every seller.
        """
        root = self._call(creds, "GET", SALES_PATH, "getnewsales", SALES_VERSION)
        return required_text(root, "sellerid")

    def get_new_sales(self, creds: Credentials) -> list[Sale]:
        """Return the sales waiting for the seller's acceptance (getnewsales)."""
        root = self._call(creds, "GET", SALES_PATH, "getnewsales", SALES_VERSION)
        return sales_from_root(root)[1]

    def get_current_sales(self, creds: Credentials, *, since: date | None = None) -> list[Sale]:
        """Return accepted and later sales (getcurrentsales), every page, optionally since a day."""
        params = {"purchasedate": since.strftime("%Y-%m-%d")} if since is not None else {}

        def read(root: Element) -> tuple[list[Sale], str | None]:
            _, sales, token = sales_from_root(root)
            return sales, token

        pages = self._pages(creds, SALES_PATH, "getcurrentsales", SALES_VERSION, params, read)
        return [sale for page in pages for sale in page]

    def accept_sale_item(
        self, creds: Credentials, item_id: str, *, shipping_from_country: int = 249
    ) -> str:
        """Accept one sold item and return Rakuten's status (``Accepted`` on success).

        ``shipping_from_country`` is the numeric ISO 3166 code; Rakuten wants 249
        (metropolitan France), not 250.
        """
        params = {"itemid": item_id, "shippingfromcountry": str(shipping_from_country)}
        root = self._call(creds, "GET", SALES_PATH, "acceptsale", ACCEPT_VERSION, params)
        return required_text(root, "status")

    def upload_stock_file(self, creds: Credentials, content: bytes) -> str:
        """Send one genericimportfile and return its import id; processing is asynchronous."""
        files = {"file": ("stock.xml", content, "text/xml")}
        root = self._call(
            creds, "POST", STOCK_PATH, "genericimportfile", IMPORT_FILE_VERSION, files=files
        )
        return import_id_from_root(root)

    def get_import_report(self, creds: Credentials, import_id: str) -> ImportReport:
        """Return the processing report of an uploaded stock file, every page merged."""

        def read(root: Element) -> tuple[ReportPage, str | None]:
            page = report_page_from_root(root)
            return page, page.next_token

        params = {"fileid": import_id}
        pages = self._pages(
            creds, STOCK_PATH, "genericimportreport", IMPORT_REPORT_VERSION, params, read
        )
        return build_report(import_id, pages)

    def _pages(
        self,
        creds: Credentials,
        path: str,
        action: str,
        version: str,
        params: Mapping[str, str],
        read: Callable[[Element], tuple[P, str | None]],
    ) -> list[P]:
        results: list[P] = []
        seen: set[str] = set()
        token: str | None = None
        while True:
            page_params = {**params, "nexttoken": token} if token else dict(params)
            page, token = read(self._call(creds, "GET", path, action, version, page_params))
            results.append(page)
            if token is None:
                return results
            if token in seen:
                raise RakutenResponseInvalid(f"Rakuten {action} repeated a nexttoken")
            if len(results) >= self._max_pages:
                raise RakutenResponseInvalid(f"Rakuten {action} has over {self._max_pages} pages")
            seen.add(token)

    def _call(
        self,
        creds: Credentials,
        method: str,
        path: str,
        action: str,
        version: str,
        params: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> Element:
        query = {"action": action, "login": creds.login, "version": version, **(params or {})}
        request = self._http.build_request(
            method, path, params=query, files=files, extensions={_TOKEN_EXTENSION: creds.token}
        )
        started = time.monotonic()
        try:
            status, body = self._fetch(request, action, creds.token)
            # DEBUG: every poll makes calls, and an idle service must stay quiet at INFO
            logger.debug(
                "rakuten %r for %r: HTTP %r, %r bytes in %.3fs",
                action, creds.login, status, len(body), time.monotonic() - started,
            )
            return interpret_response(action, status, body)
        except RakutenError as exc:
            exc.redact(creds.token)  # Rakuten may echo parameters in its error details
            logger.warning(
                "rakuten %r for %r failed after %.3fs: %s",
                action, creds.login, time.monotonic() - started, type(exc).__name__,
            )
            raise

    def _fetch(self, request: httpx.Request, action: str, token: str) -> tuple[int, bytes]:
        # The one place httpx errors become ours. Their text may quote the URL, which
        # holds the token, so the chained cause is scrubbed too.
        try:
            response = self._http.send(request, stream=True)
            try:
                return response.status_code, self._read_limited(response, action)
            finally:
                response.close()
        except httpx.HTTPError as exc:
            exc.args = tuple(redact(str(a), token) for a in exc.args)
            # A body that fails content-decoding is a bad answer, not an outage.
            bad_body = isinstance(exc, httpx.DecodingError)
            error_class = RakutenResponseInvalid if bad_body else RakutenUnavailable
            raise error_class(f"Rakuten {action} failed: {type(exc).__name__}: {exc}") from exc

    def _read_limited(self, response: httpx.Response, action: str) -> bytes:
        limit = self._max_response_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise RakutenResponseInvalid(f"Rakuten {action} body over {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:  # stop reading: never hold more than the limit in memory
                raise RakutenResponseInvalid(f"Rakuten {action} body over {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)
