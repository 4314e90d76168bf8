"""Read the answers of the calls after an order's import (rakuten-api.md §8b).

Rakuten tells its refusals apart only by their texts, quoted by peers (M): "Article N : a
déjà été expédié", "statut incorrect ... 'confirmé'", "Current status : CAPTURED - Required
status : REQUESTED", "This item cannot be cancelled". Nothing says the wording is stable,
so texts are matched after folding case, accents and punctuation, on a few words each,
and a text that matches nothing stays a plain ``RakutenRejected`` (final, ``rejected``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import Enum, auto

from .errors import (
    RakutenAlreadyAccepted,
    RakutenItemStateError,
    RakutenNotCancellable,
    RakutenNotShippable,
    RakutenRejected,
    RakutenResponseInvalid,
    RakutenUnknownItem,
)
from .lifecycle_models import CancellationResult, RefusalResult
from .parse import required_text
from .textfold import fold
from .xml import Element

__all__ = [
    "Kind",
    "cancellation_from_root",
    "cancellation_rejection",
    "check_status",
    "kind_of",
    "refusal_from_root",
    "refusal_rejection",
    "tracking_rejection",
    "tracking_status",
]


class Kind(Enum):
    """What a Rakuten refusal text says about the item."""

    ALREADY_SHIPPED = auto()
    NOT_SHIPPABLE = auto()
    UNKNOWN_ITEM = auto()
    ALREADY_ACCEPTED = auto()
    ALREADY_REFUSED = auto()
    NOT_CANCELLABLE = auto()
    WRONG_STATUS = auto()  #: a status Rakuten named that none of the above covers
    OTHER = auto()


# On the raw text: folding would turn the underscore of ON_HOLD into a space.
_CURRENT = re.compile(r"\bcurrent\s+status\s*:?\s*([A-Z_]+)", re.IGNORECASE)
_REQUIRED = re.compile(r"\brequired\s+status\s*:?\s*([A-Z_]+)", re.IGNORECASE)
# Rakuten's internal statuses in "Current status : X": CAPTURED is accepted, EMPTIED is
# cancelled or lapsed (rakuten-api.md §8b). The other names are guesses from getiteminfos.
_ACCEPTED = frozenset({"captured", "accepted", "committed", "pending"})
_ENDED = frozenset({"emptied", "cancelled", "canceled", "closed", "on_hold", "pending_claim"})
_SHIPPED = ("deja ete expedie", "deja expedie", "already shipped")
_MARKERS: tuple[tuple[Kind, tuple[str, ...]], ...] = (
    (Kind.NOT_CANCELLABLE, ("cannot be cancelled", "cannot be canceled", "ne peut pas etre annule")),
    (Kind.NOT_SHIPPABLE, ("statut incorrect", "que si le statut", "incorrect status")),
    (Kind.UNKNOWN_ITEM, ("numero incorrect", "parameter itemid is invalid")),
)


def _by_status(name: str) -> Kind:
    if name == "refused":
        return Kind.ALREADY_REFUSED
    if name in _ACCEPTED:
        return Kind.ALREADY_ACCEPTED
    return Kind.NOT_CANCELLABLE if name in _ENDED else Kind.WRONG_STATUS


def kind_of(text: str) -> tuple[Kind, str | None, str | None]:
    """Classify a refusal text; return ``(kind, current status, required status)``.

    "Already shipped" is looked for first, since it turns a refusal into a success; then
    a status Rakuten names, which is more precise than the wording around it.
    """
    folded = fold(text)
    current, required = _CURRENT.search(text), _REQUIRED.search(text)
    statuses = (
        current.group(1).upper() if current else None,
        required.group(1).upper() if required else None,
    )
    if any(marker in folded for marker in _SHIPPED):
        return Kind.ALREADY_SHIPPED, *statuses
    if current is not None:
        return _by_status(current.group(1).casefold()), *statuses
    for kind, markers in _MARKERS:
        if any(marker in folded for marker in markers):
            return kind, *statuses
    return Kind.OTHER, *statuses


def _text(error: RakutenRejected) -> str:
    return " ".join(t for t in (error.message, error.detail) if t)


def _rebuilt(
    error: RakutenRejected, cls: type[RakutenRejected] | None, statuses: Sequence[str | None]
) -> RakutenRejected:
    if cls is None:
        return error
    if issubclass(cls, RakutenItemStateError):
        return cls(error.code, error.message, error.detail, error.action, *statuses)
    return cls(error.code, error.message, error.detail, error.action)


_TRACKING_ERRORS: dict[Kind, type[RakutenRejected]] = {
    Kind.NOT_SHIPPABLE: RakutenNotShippable,
    Kind.WRONG_STATUS: RakutenNotShippable,
    Kind.NOT_CANCELLABLE: RakutenNotShippable,
    Kind.ALREADY_REFUSED: RakutenNotShippable,
    Kind.UNKNOWN_ITEM: RakutenUnknownItem,
}
_REFUSAL_ERRORS: dict[Kind, type[RakutenRejected]] = {
    Kind.ALREADY_ACCEPTED: RakutenAlreadyAccepted,
    Kind.ALREADY_SHIPPED: RakutenAlreadyAccepted,
    Kind.NOT_CANCELLABLE: RakutenNotCancellable,
    Kind.WRONG_STATUS: RakutenItemStateError,
    Kind.UNKNOWN_ITEM: RakutenUnknownItem,
}
_CANCEL_ERRORS: dict[Kind, type[RakutenRejected]] = {
    Kind.NOT_CANCELLABLE: RakutenNotCancellable,
    Kind.ALREADY_SHIPPED: RakutenNotCancellable,
    Kind.ALREADY_REFUSED: RakutenNotCancellable,
    Kind.WRONG_STATUS: RakutenItemStateError,
    Kind.ALREADY_ACCEPTED: RakutenItemStateError,
    Kind.UNKNOWN_ITEM: RakutenUnknownItem,
}


def _specific(error: RakutenRejected) -> bool:
    # Credentials and rights errors are RakutenRejected subclasses with a meaning of their own.
    return type(error) is RakutenRejected


def tracking_rejection(error: RakutenRejected) -> RakutenRejected | None:
    """Return the error a settrackingpackageinfos refusal means, or ``None`` for "already shipped"."""
    if not _specific(error):
        return error
    kind, *statuses = kind_of(_text(error))
    if kind is Kind.ALREADY_SHIPPED:
        return None
    return _rebuilt(error, _TRACKING_ERRORS.get(kind), statuses)


def refusal_rejection(error: RakutenRejected) -> RakutenRejected | None:
    """Return the error a refusesale refusal means, or ``None`` when the item is refused already."""
    if not _specific(error):
        return error
    kind, *statuses = kind_of(_text(error))
    if kind is Kind.ALREADY_REFUSED:
        return None
    return _rebuilt(error, _REFUSAL_ERRORS.get(kind), statuses)


def cancellation_rejection(error: RakutenRejected) -> RakutenRejected:
    """Return the error a cancelitem refusal means."""
    if not _specific(error):
        return error
    kind, *statuses = kind_of(_text(error))
    return _rebuilt(error, _CANCEL_ERRORS.get(kind), statuses)


def check_status(root: Element, action: str, *accepted: str) -> str:
    """Return ``response/status`` if it folds to one of ``accepted``, else raise it is invalid."""
    status = required_text(root, "status")
    if fold(status) not in accepted:
        raise RakutenResponseInvalid(f"Rakuten {action} answered status {status[:40]!r}")
    return status


def tracking_status(root: Element) -> str:
    """Check a settrackingpackageinfos answer and return its status (``OK``).

    The root is ``setshippingpackageinfosresult`` in the samples, not what the action's
    name suggests; it is not checked, in case Rakuten ever names it after the action.
    """
    return check_status(root, "settrackingpackageinfos", "ok")


def refusal_from_root(item_id: str, root: Element) -> RefusalResult:
    """Read a refusesale answer; its status must be ``Refused`` (rakuten-api.md §8b, H)."""
    check_status(root, "refusesale", "refused")
    return RefusalResult(item_id)


def cancellation_from_root(item_id: str, root: Element) -> CancellationResult:
    """Read a cancelitem answer; its status must be ``CANCELLED`` (sample_cancelitem.xml)."""
    check_status(root, "cancelitem", "cancelled", "canceled")
    return CancellationResult(item_id)
