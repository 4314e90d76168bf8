"""HTTP client for Rakuten France's seller web services (sales_ws and stock_ws).

One :class:`RakutenClient` holds one pooled ``httpx.Client``; credentials travel with
each call, so a single client serves every seller. The token is added to the query
only as the request leaves (``transport.TokenTransport``), so no URL that httpx logs or
attaches to an exception holds it; every error leaving this module is also scrubbed
of the token, as a second line of defence. Sales answers are read sale by sale as they
arrive (:class:`SalesAnswer`), never held whole.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from types import TracebackType
from typing import TypeVar

import httpx

from .client_lifecycle import OrderLifecycleCalls
from .errors import RakutenError, RakutenResponseInvalid
from .models import Credentials, ImportReport, Sale, SaleFailure
from .parse import error_for_status, import_id_from_root, interpret_response, required_text
from .parse_report import ReportPage, build_report, report_page_from_root
from .sales_stream import SalesAnswer, SalesReader
from .transport import TOKEN_EXTENSION, Answer, TokenTransport, open_answer
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


class RakutenClient(OrderLifecycleCalls):
    """Call Rakuten's seller web services; every method takes the seller's credentials.

    The calls after an order's import (tracking, refusal, cancellation, to-do list) come
    from `OrderLifecycleCalls`.
    """

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
            transport=TokenTransport(inner),
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

        Uses getnewsales, which is read-only and open to every seller, and stops reading
        as soon as the seller id has come.
        """
        reader = SalesReader(action="getnewsales")
        with self._open(creds, "GET", SALES_PATH, "getnewsales", SALES_VERSION) as answer:
            self._raise_unless_ok("getnewsales", answer)
            for chunk in answer.chunks():
                reader.feed(chunk)
                if reader.seller_id is not None:
                    return reader.seller_id
            reader.close()
        if reader.seller_id is None:
            raise RakutenResponseInvalid("<getnewsalesresult> has no response/sellerid")
        return reader.seller_id

    def get_new_sales(self, creds: Credentials) -> SalesAnswer:
        """Return the sales waiting for the seller's acceptance (getnewsales), read as they come."""
        return SalesAnswer(lambda answer: self._read_sales(creds, "getnewsales", {}, answer))

    def get_current_sales(self, creds: Credentials, *, since: date | None = None) -> SalesAnswer:
        """Return accepted and later sales (getcurrentsales), every page, optionally since a day."""
        params = {"purchasedate": since.strftime("%Y-%m-%d")} if since is not None else {}
        return SalesAnswer(lambda answer: self._read_sales(creds, "getcurrentsales", params, answer))

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

    def _read_sales(
        self, creds: Credentials, action: str, params: Mapping[str, str], answer: SalesAnswer
    ) -> Iterator[Sale | SaleFailure]:
        """Yield the sales of every page of a sales action, each as soon as it is read."""
        paging = _Paging(action, self._max_pages)
        token: str | None = None
        while True:
            reader = SalesReader(action=action)
            page_params = {**params, "nexttoken": token} if token else dict(params)
            with self._open(creds, "GET", SALES_PATH, action, SALES_VERSION, page_params) as http:
                self._raise_unless_ok(action, http)
                for chunk in http.chunks():
                    records = reader.feed(chunk)
                    answer.seller_id = answer.seller_id or reader.seller_id
                    yield from _logged(records, action, creds)
                yield from _logged(reader.close(), action, creds)
            answer.seller_id = reader.seller_id or answer.seller_id
            token = paging.after(reader.next_token)
            if token is None:
                return

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
        paging = _Paging(action, self._max_pages)
        token: str | None = None
        while True:
            page_params = {**params, "nexttoken": token} if token else dict(params)
            page, next_token = read(self._call(creds, "GET", path, action, version, page_params))
            results.append(page)
            token = paging.after(next_token)
            if token is None:
                return results

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
        """Make a call whose answer is small, and return its parsed root."""
        with self._open(creds, method, path, action, version, params, files) as answer:
            body = answer.read()
            return interpret_response(action, answer.status, body)

    @staticmethod
    def _raise_unless_ok(action: str, answer: Answer) -> None:
        if not 200 <= answer.status < 300:  # an error body is small: read it whole
            raise error_for_status(action, answer.status, answer.read())

    @contextmanager
    def _open(
        self,
        creds: Credentials,
        method: str,
        path: str,
        action: str,
        version: str,
        params: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> Iterator[Answer]:
        """Hold one call's answer open; log how it went and scrub the token from its errors."""
        query = {"action": action, "login": creds.login, "version": version, **(params or {})}
        request = self._http.build_request(
            method, path, params=query, files=files, extensions={TOKEN_EXTENSION: creds.token}
        )
        started = time.monotonic()
        try:
            with open_answer(
                self._http, request, action=action, token=creds.token, limit=self._max_response_bytes
            ) as answer:
                yield answer
        except RakutenError as exc:
            exc.redact(creds.token)  # Rakuten may echo parameters in its error details
            logger.warning(
                "rakuten %r for %r failed after %.3fs: %s",
                action, creds.login, time.monotonic() - started, type(exc).__name__,
            )
            raise
        logger.info(
            "rakuten %r for %r: HTTP %r, %r bytes in %.3fs",
            action, creds.login, answer.status, answer.size, time.monotonic() - started,
        )


class _Paging:
    """Follows nexttokens, refusing a token seen before and more than ``max_pages`` pages."""

    def __init__(self, action: str, max_pages: int) -> None:
        self._action = action
        self._max_pages = max_pages
        self._seen: set[str] = set()

    def after(self, token: str | None) -> str | None:
        """Count one page read; return the token of the next one, ``None`` after the last."""
        if token is None:
            return None
        if token in self._seen:
            raise RakutenResponseInvalid(f"Rakuten {self._action} repeated a nexttoken")
        self._seen.add(token)
        if len(self._seen) >= self._max_pages:
            raise RakutenResponseInvalid(f"Rakuten {self._action} has over {self._max_pages} pages")
        return token


def _logged(records: list[Sale | SaleFailure], action: str, creds: Credentials) -> list[Sale | SaleFailure]:
    for record in records:
        if isinstance(record, SaleFailure):
            logger.warning(
                "rakuten %r for %r: sale %r skipped, %s",
                action, creds.login, record.purchase_id, record.detail,
            )
    return records
