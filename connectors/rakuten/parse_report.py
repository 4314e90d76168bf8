"""Parse genericimportreport pages and merge them into one :class:`ImportReport`.

The page shape is assembled from third-party code and one 2011-11-29 capture
(rakuten-api.md §4.2, §8a); it is uncertain for 2017-02-10 (§8 question 3), so each
field has fallbacks: the SKU is ``sku`` or ``sellerReference``, the error fields are
``error_code``/``error_text`` or ``code``/``message``. A product line whose errors cannot
be told to a SKU is reported as unreadable, and the other lines are kept.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace

from .errors import RakutenResponseInvalid
from .models import ImportReport, ImportStatus, ReportLineFailure, SkuError
from .parse import load_response, require_response
from .xml import Element, Unreadable, child, children, text_of, texts

__all__ = ["ReportPage", "build_report", "normalise_label", "parse_report_page", "status_of"]

logger = logging.getLogger(__name__)

_NON_WORD = re.compile(r"[\W_]+")
#: characters; the longest SKU the platform sends (CONTRACT §1.1), so no line of ours
MAX_SKU_CHARS = 100


def normalise_label(label: str) -> str:
    """Fold a French status label for comparison: NFKC, casefold, no accents, no punctuation."""
    text = unicodedata.normalize("NFKC", label).casefold().replace("\u2019", "'")
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return _NON_WORD.sub(" ", text).strip()


_LABELS: dict[str, ImportStatus] = {
    normalise_label(label): status
    for status, labels in {
        ImportStatus.PENDING: ("Reçu", "En attente", "M.à.j. en cours"),
        ImportStatus.DONE: ("Traité", "Fichier précédent identique, pas de traitement"),
        ImportStatus.FAILED: ("Annulé", "Aucune ligne n’a été chargée", "Erreur"),
    }.items()
    for label in labels
}


def status_of(label: str | None) -> ImportStatus:
    """Map a ``file/status`` label to a status.

    An unknown or missing label counts as ``PENDING``: the caller keeps polling (and
    the report expires after some days) rather than declaring a file done or failed on
    a label nobody has seen. A warning is logged so the label can be added here.
    """
    status = _LABELS.get(normalise_label(label)) if label is not None else None
    if status is None:
        logger.warning("unknown Rakuten import status label %r, treated as pending", label)
        return ImportStatus.PENDING
    return status


@dataclass(frozen=True)
class ReportPage:
    """One page of a genericimportreport response.

    ``lines`` counts its product lines; the ``line`` of each ``unreadable`` entry counts
    from 1 within the page (:func:`build_report` numbers them over the report).
    """

    status_label: str | None
    has_file: bool
    total_lines: int | None
    error_lines: int | None
    errors: tuple[SkuError, ...]
    next_token: str | None
    lines: int = 0
    unreadable: tuple[ReportLineFailure, ...] = ()


def _int(value: str | None) -> int | None:
    digits = value.replace(" ", "") if value is not None else ""
    return int(digits) if digits.isascii() and digits.isdigit() else None


def _fatal(value: str | None) -> bool | None:
    folded = (value or "").casefold()
    if folded in {"1", "true", "y", "yes", "o", "oui"}:
        return True
    if folded in {"0", "false", "n", "no", "non"}:
        return False
    return None


def _product_errors(product: Element) -> list[SkuError]:
    errors = children(child(product, "errors"), "error")
    if not errors:
        return []  # a line that went through: its SKU does not matter
    sku = texts(product, "sku", "sellerReference", "sellerreference")
    if sku is None:
        raise Unreadable("sku", "missing")
    if len(sku) > MAX_SKU_CHARS:
        raise Unreadable("sku", f"longer than {MAX_SKU_CHARS} characters")
    return [
        SkuError(
            sku=sku,
            error_code=texts(error, "error_code", "code"),
            error_text=texts(error, "error_text", "message"),
            error_key=texts(error, "error_key", "key"),
            fatal=_fatal(texts(error, "fatal_error", "fatal")),
        )
        for error in errors
    ]


def _read_lines(products: list[Element]) -> tuple[list[SkuError], list[ReportLineFailure]]:
    errors: list[SkuError] = []
    unreadable: list[ReportLineFailure] = []
    for line, product in enumerate(products, 1):
        try:
            errors.extend(_product_errors(product))
        except Unreadable as exc:
            sku = texts(product, "sku", "sellerReference", "sellerreference")
            if sku is not None and len(sku) > MAX_SKU_CHARS:
                sku = None
            unreadable.append(ReportLineFailure(line, sku, exc.field, exc.reason))
    return errors, unreadable


def report_page_from_root(root: Element) -> ReportPage:
    """Read one report page from a parsed response root, line by line."""
    response = require_response(root)
    file = child(response, "file")
    products = children(response, "product") + children(child(response, "products"), "product")
    errors, unreadable = _read_lines(products)
    return ReportPage(
        status_label=text_of(file, "status"),
        has_file=file is not None,
        total_lines=_int(text_of(file, "totallines")),
        error_lines=_int(text_of(file, "errorlines")),
        errors=tuple(errors),
        next_token=text_of(response, "nexttoken"),
        lines=len(products),
        unreadable=tuple(unreadable),
    )


def parse_report_page(body: bytes) -> ReportPage:
    """Parse one genericimportreport body.

    Raises:
        RakutenResponseInvalid: the body is not a readable report.
        RakutenRejected, RakutenUnavailable: the body is an ``<errorresponse>``.
    """
    return report_page_from_root(load_response(body, action="genericimportreport"))


def build_report(import_id: str, pages: Iterable[ReportPage]) -> ImportReport:
    """Merge report pages: the file summary comes from the first page, errors from all."""
    pages = list(pages)
    if not pages or not pages[0].has_file:
        raise RakutenResponseInvalid(f"import report {import_id!r} has no <file> summary")
    first = pages[0]
    unreadable: list[ReportLineFailure] = []
    offset = 0
    for page in pages:
        unreadable.extend(replace(f, line=f.line + offset) for f in page.unreadable)
        offset += page.lines
    for failure in unreadable:
        logger.warning(
            "import report %r: product line %d skipped, %s", import_id, failure.line, failure.detail
        )
    return ImportReport(
        import_id=import_id,
        status=status_of(first.status_label),
        status_label=first.status_label,
        errors=tuple(e for page in pages for e in page.errors),
        total_lines=first.total_lines,
        error_lines=first.error_lines,
        unreadable=tuple(unreadable),
    )
