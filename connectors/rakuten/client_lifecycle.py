"""The client's calls after an order's import: tracking, shipping files, refusal,
cancellation and the to-do list (rakuten-api.md §8b).

`RakutenClient` inherits them; they go through its one ``_call``, so the token handling,
limits and error mapping are those of every other call. Each checks its arguments before
any call: a ``ValueError`` means nothing was sent.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from .carriers import OTHER_TRANSPORTER
from .errors import RakutenRejected
from .lifecycle_models import (
    CancellationResult,
    RefusalResult,
    ShipmentLine,
    ShippingImportResult,
    TodoItem,
    TrackingResult,
)
from .models import Credentials
from .parse_lifecycle import (
    cancellation_from_root,
    cancellation_rejection,
    refusal_from_root,
    refusal_rejection,
    tracking_rejection,
    tracking_status,
)
from .parse_shipping import article_notes, shipping_import_from_notes, shipping_import_status
from .parse_todo import todo_items_from_root
from .shipping_file import build_shipping_status_file
from .textfold import squash
from .xml import Element

__all__ = ["MAX_CANCEL_COMMENT_CHARS", "OrderLifecycleCalls"]

SALES_PATH = "/sales_ws"
TRACKING_VERSION = "2016-03-16"
SHIPPING_STATUS_VERSION = "2016-05-09"
REFUSE_VERSION = "2010-09-20"
CANCEL_VERSION = "2011-02-02"
TODO_VERSION = "2011-09-01"
#: characters; Rakuten refuses a longer cancellation message ("cannot exceed 400 characters").
MAX_CANCEL_COMMENT_CHARS = 400


def _required(name: str, value: str) -> str:
    if not value or not value.strip():
        raise ValueError(f"{name} is required")
    return value


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("tracking_url must be an absolute http(s) URL")
    return url


class OrderLifecycleCalls(ABC):
    """The sales_ws calls that follow an order's life; mixed into `RakutenClient`."""

    @abstractmethod
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
        """Send one call and return the root of its successful answer."""

    def set_tracking_package_infos(
        self,
        creds: Credentials,
        item_id: str,
        *,
        transporter_name: str,
        tracking_number: str,
        tracking_url: str | None = None,
    ) -> TrackingResult:
        """Give Rakuten the carrier and tracking number of one shipped item.

        ``transporter_name`` is one of Rakuten's names (see `normalise_carrier`); ``Autre``
        needs ``tracking_url``. An item Rakuten has as shipped already is success, with
        ``already_shipped`` set.

        Raises:
            ValueError: an empty argument, ``Autre`` without a URL, a URL that is not http(s).
            RakutenNotShippable: the item is not accepted (yet, or any more).
            RakutenUnknownItem: Rakuten does not know the item.
            RakutenRejected: any other refusal (final); RakutenUnavailable: retry later.
        """
        params = {
            "itemid": _required("item_id", item_id),
            "transporter_name": _required("transporter_name", transporter_name),
            "tracking_number": _required("tracking_number", tracking_number),
        }
        if tracking_url:
            params["tracking_url"] = _check_url(tracking_url)
        elif squash(transporter_name) == squash(OTHER_TRANSPORTER):
            raise ValueError(f"tracking_url is required with transporter {OTHER_TRANSPORTER!r}")
        try:
            root = self._call(creds, "GET", SALES_PATH, "settrackingpackageinfos", TRACKING_VERSION, params)
        except RakutenRejected as exc:
            error = tracking_rejection(exc)
            if error is None:
                return TrackingResult(item_id, already_shipped=True, detail=exc.detail or exc.message)
            if error is exc:
                raise
            raise error from exc
        tracking_status(root)
        return TrackingResult(item_id)

    def import_item_shipping_status(
        self, creds: Credentials, lines: Sequence[ShipmentLine]
    ) -> ShippingImportResult:
        """Send one importitemshippingstatus file for these items; one result per line.

        For shipping without tracking (Rakuten's "Normal", prepaid labels). A refusal
        that names items ("Article N : ...") becomes their outcomes, the other lines are
        then ``NOT_CONFIRMED``; a refusal that names none is raised.

        Raises:
            ValueError: see `build_shipping_status_file`.
            RakutenRejected: the whole file refused; RakutenUnavailable: retry later.
        """
        content = build_shipping_status_file(lines)
        files = {"file": ("shipping.xml", content, "text/xml")}
        action = "importitemshippingstatus"
        try:
            root = self._call(creds, "POST", SALES_PATH, action, SHIPPING_STATUS_VERSION, files=files)
        except RakutenRejected as exc:
            notes = article_notes([exc.message or "", exc.detail or ""])
            if type(exc) is not RakutenRejected or not notes:
                raise
            return shipping_import_from_notes(lines, notes, accepted=False)
        _, texts = shipping_import_status(root)
        return shipping_import_from_notes(lines, article_notes(texts), accepted=True)

    def refuse_sale(self, creds: Credentials, item_id: str) -> RefusalResult:
        """Refuse the sale of one item still awaiting acceptance (refusesale).

        An item Rakuten has as refused already is success, with ``already_refused`` set.

        Raises:
            ValueError: an empty item id.
            RakutenAlreadyAccepted: the item was accepted: only `cancel_item` can end it now.
            RakutenNotCancellable: the item is cancelled, lapsed or closed.
            RakutenUnknownItem: Rakuten does not know the item.
            RakutenItemStateError: another status that forbids it (``current_status``).
            RakutenRejected: any other refusal (final); RakutenUnavailable: retry later.
        """
        params = {"itemid": _required("item_id", item_id)}
        try:
            root = self._call(creds, "GET", SALES_PATH, "refusesale", REFUSE_VERSION, params)
        except RakutenRejected as exc:
            error = refusal_rejection(exc)
            if error is None:
                return RefusalResult(item_id, already_refused=True, detail=exc.detail or exc.message)
            if error is exc:
                raise
            raise error from exc
        return refusal_from_root(item_id, root)

    def cancel_item(self, creds: Credentials, item_id: str, comment: str) -> CancellationResult:
        """Cancel one accepted item; ``comment`` (at most 400 characters) is shown to the buyer.

        Rakuten's "This item cannot be cancelled" does not say why: the item may be
        shipped, claimed, closed, not accepted, or already cancelled (by an earlier call
        whose answer was lost, too), so a caller that retried should read the item's
        status in getcurrentsales before it reports a failure.

        Raises:
            ValueError: an empty item id, an empty comment or one over 400 characters.
            RakutenNotCancellable: Rakuten will not cancel the item.
            RakutenUnknownItem: Rakuten does not know the item.
            RakutenItemStateError: another status that forbids it (``current_status``).
            RakutenRejected: any other refusal (final); RakutenUnavailable: retry later.
        """
        if len(_required("comment", comment)) > MAX_CANCEL_COMMENT_CHARS:
            raise ValueError(f"comment is over {MAX_CANCEL_COMMENT_CHARS} characters")
        params = {"itemid": _required("item_id", item_id), "comment": comment}
        try:
            root = self._call(creds, "GET", SALES_PATH, "cancelitem", CANCEL_VERSION, params)
        except RakutenRejected as exc:
            error = cancellation_rejection(exc)
            if error is exc:
                raise
            raise error from exc
        return cancellation_from_root(item_id, root)

    def get_item_todo_list(self, creds: Credentials) -> list[TodoItem]:
        """Return the items Rakuten's to-do list holds, with their causes (getitemtodolist).

        Read-only: unlike getiteminfos, it marks no message read.
        """
        root = self._call(creds, "GET", SALES_PATH, "getitemtodolist", TODO_VERSION)
        return todo_items_from_root(root)
