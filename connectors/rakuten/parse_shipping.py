"""Read the outcome of an importitemshippingstatus file, line by line (rakuten-api.md §8b).

The answer is ``importresult/response/status`` = ``OK``, with no per-line report in the
one sample. The texts quoted for the same rules name the item ("Article N : a déjà été
expédié"), so any such text, in a refusal or in a successful answer, is taken as the
outcome of that item's line. How Rakuten reports a file with one bad line is not known (L).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence

from .lifecycle_models import ShipmentLine, ShipmentLineResult, ShipmentOutcome, ShippingImportResult
from .parse import require_response
from .parse_lifecycle import Kind, check_status, kind_of
from .xml import Element

__all__ = ["article_notes", "shipping_import_from_notes", "shipping_import_status"]

logger = logging.getLogger(__name__)

_ARTICLE = re.compile(r"\bArticle\s+(\d+)\s*:\s*", re.IGNORECASE)


def article_notes(texts: Iterable[str]) -> dict[str, str]:
    """Return ``{item id: text}`` for every "Article N : text" found in Rakuten's texts."""
    notes: dict[str, str] = {}
    for text in texts:
        matches = list(_ARTICLE.finditer(text))
        if not matches:
            continue
        ends = [m.start() for m in matches[1:]] + [len(text)]
        for match, end in zip(matches, ends, strict=True):
            notes.setdefault(match.group(1), text[match.end() : end].strip())
    return notes


_LINE_OUTCOMES = {
    Kind.ALREADY_SHIPPED: ShipmentOutcome.ALREADY_SHIPPED,
    Kind.NOT_SHIPPABLE: ShipmentOutcome.NOT_SHIPPABLE,
    Kind.WRONG_STATUS: ShipmentOutcome.NOT_SHIPPABLE,
    Kind.NOT_CANCELLABLE: ShipmentOutcome.NOT_SHIPPABLE,
    Kind.ALREADY_REFUSED: ShipmentOutcome.NOT_SHIPPABLE,
    Kind.UNKNOWN_ITEM: ShipmentOutcome.UNKNOWN_ITEM,
}


def shipping_import_from_notes(
    lines: Sequence[ShipmentLine], notes: dict[str, str], *, accepted: bool
) -> ShippingImportResult:
    """Give each line of a shipping file its outcome from Rakuten's per-article notes.

    ``accepted`` says whether Rakuten answered OK (lines it names nothing about were
    shipped) or refused the file (they are ``NOT_CONFIRMED``: whether Rakuten applies the
    rest of a file that has a bad line is not known, rakuten-api.md §8b).
    """
    unnamed = ShipmentOutcome.SHIPPED if accepted else ShipmentOutcome.NOT_CONFIRMED
    results = []
    for line in lines:
        note = notes.get(line.item_id.strip())
        if note is None:
            results.append(ShipmentLineResult(line.item_id, unnamed))
            continue
        kind = kind_of(note)[0]
        outcome = _LINE_OUTCOMES.get(kind, ShipmentOutcome.REJECTED)
        results.append(ShipmentLineResult(line.item_id, outcome, note))
    foreign = set(notes) - {line.item_id.strip() for line in lines}
    if foreign:
        logger.warning("importitemshippingstatus named %r items that were not in the file", len(foreign))
    return ShippingImportResult(tuple(results))


def shipping_import_status(root: Element) -> tuple[str, list[str]]:
    """Check an importitemshippingstatus answer (status ``OK``) and return its status and texts.

    The texts are every text under ``response``, in case Rakuten reports lines there.
    """
    status = check_status(root, "importitemshippingstatus", "ok")
    texts = [node.text for node in require_response(root).iter() if node.text and node.text.strip()]
    return status, texts
