"""Exceptions raised by the Rakuten France connector.

Exception hierarchy::

    RakutenError
    ├── RakutenUnavailable          retry later: network, timeout, HTTP 5xx, ServerError
    │   └── RakutenRateLimited      "Quota exceeded." (InvalidUserRights used for throttling)
    ├── RakutenRejected             an <errorresponse> with an API error code
    │   ├── RakutenAuthError        InvalidUserConnection: wrong login or token
    │   ├── RakutenInsufficientRights   InvalidUserRights that is not a quota
    │   ├── RakutenUnknownItem      the itemid is not one of the seller's items
    │   └── RakutenItemStateError   the item's status does not allow the call
    │       ├── RakutenNotShippable     tracking refused: the item is not accepted
    │       ├── RakutenAlreadyAccepted  refusal refused: the item was accepted already
    │       └── RakutenNotCancellable   refusal or cancellation refused for good
    └── RakutenResponseInvalid      unparsable, hostile, oversized or incomplete response

An HTTP status that is not 2xx and comes without an ``<errorresponse>`` body maps to
RakutenUnavailable for 5xx and 408, RakutenRateLimited for 429, and RakutenResponseInvalid
for anything else (3xx, other 4xx): such an answer is not Rakuten's API speaking, so it
is neither a rejection to show the seller nor something a retry is known to fix.
``ServerError`` error responses are Rakuten failing, so they map to RakutenUnavailable.
The item errors are told apart by Rakuten's texts for the calls after the import
(rakuten-api.md §8b); every one of them is final, retrying cannot change the answer.

Messages never contain the seller's token: the client builds them without URLs and
passes every text that came from elsewhere through :func:`redact` first.
"""

from __future__ import annotations

import re
from urllib.parse import quote, quote_plus

__all__ = [
    "RakutenAlreadyAccepted",
    "RakutenAuthError",
    "RakutenError",
    "RakutenInsufficientRights",
    "RakutenItemStateError",
    "RakutenNotCancellable",
    "RakutenNotShippable",
    "RakutenRateLimited",
    "RakutenRejected",
    "RakutenResponseInvalid",
    "RakutenUnavailable",
    "RakutenUnknownItem",
    "redact",
]

_PWD_PARAM = re.compile(r"(?i)(\bpwd=)[^&\s'\"<>]*")
_MASK = "***"


def redact(text: str, *secrets: str) -> str:
    """Return ``text`` with every ``pwd=`` query value and every given secret masked."""
    text = _PWD_PARAM.sub(r"\1" + _MASK, text)
    for secret in secrets:
        if not secret:
            continue
        for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
            text = text.replace(form, _MASK)
    return text


class RakutenError(Exception):
    """Raised when anything goes wrong talking to Rakuten; the root of this package's errors."""

    def redact(self, *secrets: str) -> None:
        """Mask the secrets in this error's text, in place (a safety net for the client)."""
        self.args = tuple(redact(a, *secrets) if isinstance(a, str) else a for a in self.args)


class RakutenUnavailable(RakutenError):
    """Raised when Rakuten cannot answer now (network, timeout, HTTP 5xx, ServerError).

    The call may be retried later with the same arguments.
    """


class RakutenRateLimited(RakutenUnavailable):
    """Raised when Rakuten throttles the seller ("Quota exceeded."); retry after a pause.

    Rakuten reports this as ``InvalidUserRights``, but it is not a credentials problem.
    """


class RakutenRejected(RakutenError):
    """Raised when Rakuten answers with an ``<errorresponse>`` carrying an API error code.

    ``code`` is e.g. ``ParameterError``; ``message`` and ``detail`` are Rakuten's texts
    (``detail`` joins every ``<detail>``); ``action`` is the web service action called.
    """

    def __init__(
        self,
        code: str | None,
        message: str | None,
        detail: str | None = None,
        action: str | None = None,
    ) -> None:
        self.code = code
        self.message = message
        self.detail = detail
        self.action = action
        super().__init__(self._describe())

    def _describe(self) -> str:
        text = f"Rakuten {self.action or 'call'} failed: {self.code or 'unknown code'}"
        if self.message:
            text += f": {self.message}"
        if self.detail:
            text += f" ({self.detail})"
        return text

    def __reduce__(self) -> tuple[object, ...]:
        return (self.__class__, (self.code, self.message, self.detail, self.action))

    def redact(self, *secrets: str) -> None:
        """Mask the secrets in this error's text and attributes, in place."""
        if self.message is not None:
            self.message = redact(self.message, *secrets)
        if self.detail is not None:
            self.detail = redact(self.detail, *secrets)
        self.args = (redact(self._describe(), *secrets),)


class RakutenAuthError(RakutenRejected):
    """Raised when Rakuten does not recognise the login or token (InvalidUserConnection)."""


class RakutenInsufficientRights(RakutenRejected):
    """Raised when the account may not use this web service (InvalidUserRights, not a quota).

    Typically a non-pro account calling the stock web service.
    """


class RakutenUnknownItem(RakutenRejected):
    """Raised when Rakuten does not know the item id for this seller.

    ``The parameter 'itemid' is invalid.`` on refusesale and cancelitem; "Article N :
    numéro incorrect" on the shipping calls.
    """


class RakutenItemStateError(RakutenRejected):
    """Raised when the item's status does not allow the call, in a case this library cannot name.

    ``current_status`` and ``required_status`` are Rakuten's own words when it gave them
    ("Current status : CAPTURED - Required status : REQUESTED"), else ``None``. The
    subclasses name the cases the callers act on.
    """

    def __init__(
        self,
        code: str | None,
        message: str | None,
        detail: str | None = None,
        action: str | None = None,
        current_status: str | None = None,
        required_status: str | None = None,
    ) -> None:
        self.current_status = current_status
        self.required_status = required_status
        super().__init__(code, message, detail, action)

    def __reduce__(self) -> tuple[object, ...]:
        fields = (self.code, self.message, self.detail, self.action)
        return (self.__class__, (*fields, self.current_status, self.required_status))


class RakutenNotShippable(RakutenItemStateError):
    """Raised when Rakuten refuses tracking because the item is not accepted ('confirmé').

    Rakuten's text does not say why: the item may still await acceptance (then it can be
    shipped once accepted) or be cancelled or refused (then never); the caller knows which
    from the item's status in the sales it read.
    """


class RakutenAlreadyAccepted(RakutenItemStateError):
    """Raised when refusesale finds the item accepted already (Rakuten's status CAPTURED).

    Only a cancellation (``cancel_item``) can end such an item now.
    """


class RakutenNotCancellable(RakutenItemStateError):
    """Raised when the item cannot be refused or cancelled any more.

    refusesale on an item cancelled or lapsed (Rakuten's status EMPTIED) or closed;
    cancelitem's "This item cannot be cancelled" (shipped, claimed, closed, cancelled, or
    not accepted: Rakuten does not say which).
    """


class RakutenResponseInvalid(RakutenError):
    """Raised when a response cannot be trusted.

    That is: XML that does not parse, hostile XML (DTD, entities), a body larger than the
    limit, a missing required element, an unexpected HTTP status without an error body.
    """
