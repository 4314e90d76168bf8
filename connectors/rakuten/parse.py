"""Turn Rakuten response bodies into values or errors: the ``<errorresponse>`` mapping and
the small single-value responses (seller id, acceptance status, import id).
"""

from __future__ import annotations

from .errors import (
    RakutenAuthError,
    RakutenError,
    RakutenInsufficientRights,
    RakutenRateLimited,
    RakutenRejected,
    RakutenResponseInvalid,
    RakutenUnavailable,
)
from .xml import Element, child, children, local_name, parse_xml, text_of

__all__ = [
    "error_for_status",
    "error_from_response",
    "import_id_from_root",
    "interpret_response",
    "load_response",
    "require_response",
    "required_text",
]

# Throttling comes as InvalidUserRights (SH asset quota_exceeded_message.xml, from the
# PriceMinister era; the current wording is not confirmed), so match loosely.
_QUOTA_MARKERS = ("quota", "maximum number of requests")


def error_from_response(root: Element, *, action: str | None = None) -> RakutenError | None:
    """Return the error an ``<errorresponse>`` root describes, or ``None`` for other roots."""
    if local_name(root) != "errorresponse":
        return None
    error = child(root, "error")
    code = text_of(error, "code")
    kind = text_of(error, "type")
    message = text_of(error, "message")
    details = [text_of(d) for d in children(child(error, "details"), "detail")]
    detail = " ".join(d for d in details if d) or None
    if code == "InvalidUserConnection":
        return RakutenAuthError(code, message, detail, action)
    if code == "InvalidUserRights":
        haystack = f"{message or ''} {detail or ''}".casefold()
        if any(marker in haystack for marker in _QUOTA_MARKERS):
            return RakutenRateLimited(f"Rakuten {action or 'call'} throttled: {message}")
        return RakutenInsufficientRights(code, message, detail, action)
    if code == "ServerError" or kind == "ServerError":
        # "Server not able to fullfill request." / "An error occurred while submitting
        # the file": Rakuten's own failure, so worth retrying later.
        text = " ".join(t for t in (message, detail) if t)
        return RakutenUnavailable(f"Rakuten {action or 'call'} server error: {text}")
    return RakutenRejected(code, message, detail, action)


def load_response(body: bytes, *, action: str | None = None) -> Element:
    """Parse a body and raise the mapped error if it is an ``<errorresponse>``."""
    root = parse_xml(body)
    error = error_from_response(root, action=action)
    if error is not None:
        raise error
    return root


def _status_error(action: str, status: int) -> RakutenError:
    # A non-2xx status without an <errorresponse> body: 5xx/408 are transient, 429 is
    # throttling, and any other status (redirect, 4xx) means we cannot trust the body.
    if status == 429:
        return RakutenRateLimited(f"Rakuten {action} answered HTTP 429")
    if status >= 500 or status == 408:
        return RakutenUnavailable(f"Rakuten {action} answered HTTP {status}")
    return RakutenResponseInvalid(f"Rakuten {action} answered HTTP {status} without an error body")


def error_for_status(action: str, status: int, body: bytes) -> RakutenError:
    """Return the error a non-2xx answer means: its ``<errorresponse>``, else the status's."""
    try:
        root = parse_xml(body)
    except RakutenResponseInvalid:
        return _status_error(action, status)
    return error_from_response(root, action=action) or _status_error(action, status)


def interpret_response(action: str, status: int, body: bytes) -> Element:
    """Return the root of a successful response, or raise the error the body or status means.

    The body is checked for ``<errorresponse>`` before the status: Rakuten sends error
    documents with non-200 statuses too (QZ commit 8e8b772).
    """
    if not 200 <= status < 300:
        raise error_for_status(action, status, body)
    return load_response(body, action=action)


def require_response(root: Element) -> Element:
    """Return the ``response`` child every Rakuten result has, or raise if it is missing."""
    response = child(root, "response")
    if response is None:
        raise RakutenResponseInvalid(f"<{local_name(root)}> has no <response>")
    return response


def required_text(root: Element, path: str) -> str:
    """Return the non-empty text at ``response/<path>``, or raise if it is missing."""
    value = text_of(require_response(root), path)
    if value is None:
        raise RakutenResponseInvalid(f"<{local_name(root)}> has no response/{path}")
    return value


def import_id_from_root(root: Element) -> str:
    """Return ``response/importid`` of a genericimportfile result.

    ``status`` must be ``OK`` ("file received"); anything else is treated as an
    invalid response, since no error code explains it.
    """
    status = required_text(root, "status")
    if status.upper() != "OK":
        raise RakutenResponseInvalid(f"genericimportfile answered status {status[:40]!r}")
    return required_text(root, "importid")

