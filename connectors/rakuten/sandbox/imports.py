"""Stock-file lifecycle: receive (with the per-seller spacing quota), then process when due.

Processing is lazy: every state access settles the imports whose delay has passed, so no
timer thread is needed and a file is applied exactly once, in upload order.
"""

from __future__ import annotations

import datetime as dt

from connectors.rakuten.sandbox import ws_errors
from connectors.rakuten.sandbox.model import (
    STATUS_DONE,
    STATUS_NO_LINE,
    STATUS_PENDING,
    Config,
    LineResult,
    Seller,
    StockImport,
    StockLine,
)
from connectors.rakuten.sandbox.stockfile import parse_stock_file

UNKNOWN_SKU = (
    "sellerReference",
    "60",
    "La référence vendeur n'existe pas dans votre inventaire : l'annonce n'a pas été trouvée.",
)
REJECTED_SKU = (
    "qty",
    "70",
    "L'annonce n'a pas pu être mise à jour : la quantité a été refusée.",
)
BAD_QTY = (
    "qty",
    "61",
    "La quantité indiquée n'est pas un nombre entier positif ou nul.",
)


def receive(
    seller: Seller,
    config: Config,
    *,
    import_id: str,
    filename: str,
    content: bytes,
    now: dt.datetime,
) -> StockImport:
    """Record an uploaded file, or raise the quota error if it comes too soon after the last."""
    if seller.last_file_at is not None:
        elapsed = (now - seller.last_file_at).total_seconds()
        if elapsed < config.file_min_interval_s:
            raise ws_errors.quota_exceeded()
    record = StockImport(
        import_id=import_id,
        filename=filename,
        received_at=now,
        due_at=now + dt.timedelta(seconds=config.import_delay_s),
        size_bytes=len(content),
        lines=parse_stock_file(content),
    )
    seller.imports[import_id] = record
    seller.last_file_at = now
    return record


def _apply(seller: Seller, line: StockLine) -> LineResult:
    """Apply one line to the seller's listings, or explain why it is refused."""
    advert_id = seller.advert_ids.get(line.sku)
    if line.sku not in seller.listings:
        key, code, message = UNKNOWN_SKU
    elif line.sku in seller.reject_skus:
        key, code, message = REJECTED_SKU
    elif line.qty is None:
        key, code, message = BAD_QTY
    else:
        seller.listings[line.sku] = line.qty
        return LineResult(line.sku, advert_id)
    return LineResult(line.sku, None, error_code=code, error_key=key, error_text=message)


def settle(seller: Seller, now: dt.datetime) -> None:
    """Process every pending import of the seller whose delay has passed, oldest first."""
    for record in seller.imports.values():
        if record.status != STATUS_PENDING or record.due_at > now:
            continue
        record.results = [_apply(seller, line) for line in record.lines]
        record.status = STATUS_DONE if record.lines else STATUS_NO_LINE
        record.processed_at = now
