"""Reading the import reports of stock files, and what a file refused as a whole becomes.

A report that names rejected SKUs publishes `stock.sync_failed` for each. A file
Rakuten refused as a whole puts its SKUs back to pending (never a full re-send of
every SKU: that would feed the quota with the very file that was refused), with a
cool-down that doubles at each refusal; a SKU whose change was refused
`MAX_FILE_REFUSALS` times is reported with `stock.sync_failed` and not sent again
until it changes.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg

from connectors.rakuten import ImportReport, ImportStatus, RakutenAuthError, RakutenError
from db import integrations, leases, outbox, stock_imports
from events import outbound
from workers.claims import Claim
from workers.context import Context
from workers.logs import log_context
from workers.metrics import METRICS
from workers.verification import confirm_credentials

log = logging.getLogger(__name__)

#: seconds after which a file whose report is still not final counts as refused as a
#: whole (its SKUs are sent again); Rakuten keeps reports about five days
REPORT_GIVE_UP_S = 86400.0
#: files refused as a whole that may carry one SKU's change before it is given up on
MAX_FILE_REFUSALS = 4
#: seconds, the longest cool-down after refused files
MAX_REFUSAL_COOL_DOWN_S = 3600.0
#: `error_code` of `stock.sync_failed` for a SKU whose files Rakuten refused as a whole
FILE_REFUSED = "file_refused"


def refusal_cool_down(ctx: Context, refusals: int) -> float:
    """Seconds before the next file after the `refusals`-th refusal: the interval, doubling."""
    interval = ctx.settings.rakuten.rakuten_stock_push_interval_s
    doubled: float = interval * 2 ** max(refusals - 1, 0)
    return min(doubled, max(interval, MAX_REFUSAL_COOL_DOWN_S))


def poll_import_report(ctx: Context, import_pk: int, token: int) -> str | None:
    """Read a stock file's report; record the outcome when final; return the import's status.

    `token` is the claim's fencing token: a stale one does nothing.
    """
    claim = Claim.of(ctx, leases.REPORT, [import_pk], token)
    if not claim.start():
        return None
    with ctx.pool.connection() as conn:
        imported = stock_imports.get_import(conn, import_pk)
        current = integrations.get(conn, imported.integration_id) if imported else None
    if imported is None or imported.status != "pending" or current is None or current.status != "verified":
        return None
    with log_context(integration_id=current.integration_id, import_id=imported.rakuten_import_id):
        try:
            with claim.kept():
                report = ctx.rakuten.get_import_report(ctx.credentials(current), imported.rakuten_import_id)
        except RakutenError as exc:
            METRICS.rakuten_failures.labels(operation="stock_report", error=type(exc).__name__).inc()
            if isinstance(exc, RakutenAuthError):
                confirm_credentials(ctx, current, "stock_report")
            _defer(ctx, claim, import_pk, label=None)
            log.warning("reading the import report failed (%s)", type(exc).__name__)
            return "pending"
        if report.status is ImportStatus.PENDING and not _given_up(ctx, imported):
            _defer(ctx, claim, import_pk, label=report.status_label)
            return "pending"
        return _finish(ctx, imported, claim, report)


def _given_up(ctx: Context, imported: stock_imports.StockImport) -> bool:
    interval = ctx.settings.rakuten.rakuten_report_poll_interval_s
    return imported.report_attempts * interval >= REPORT_GIVE_UP_S


def _defer(ctx: Context, claim: Claim, import_pk: int, *, label: str | None) -> None:
    with ctx.pool.connection() as conn:
        in_s = ctx.settings.rakuten.rakuten_report_poll_interval_s
        stock_imports.defer_report(conn, import_pk, claim.token, in_s=in_s, label=label)


def _finish(ctx: Context, imported: stock_imports.StockImport, claim: Claim, report: ImportReport) -> str:
    status = "done" if report.status is ImportStatus.DONE else "failed"  # also: never final
    errors = [(e.sku, e.error_code, e.error_text) for e in report.errors]
    with ctx.pool.connection() as conn, conn.transaction():
        rejected = stock_imports.finish_import(
            conn, imported.id, claim.token, status=status, label=report.status_label, errors=errors
        )
        if rejected is None:
            return status
        failures = list(rejected)
        if status == "failed":
            failures += _refused_as_a_whole(conn, imported, ctx, report.status_label)
        outbox.add_events(conn, [_sync_failed(imported, *failure) for failure in failures])
    METRICS.stock_skus_rejected.inc(len(rejected))
    if status == "failed":
        METRICS.stock_files_failed.inc()
    if failures:
        log.warning("%d SKU(s) of the stock file reported as not synchronised", len(failures))
        ctx.dispatch.send("relay_outbox")
    return status


def _refused_as_a_whole(
    conn: psycopg.Connection[Any], imported: stock_imports.StockImport, ctx: Context, label: str | None
) -> list[tuple[str, int, str | None, str | None]]:
    """Requeue the file's SKUs within the bound, hold off the next file; return those given up."""
    refused = stock_imports.requeue_refused(conn, imported.id, max_refusals=MAX_FILE_REFUSALS)
    cool_down = refusal_cool_down(ctx, refused.most_refusals)
    integrations.cool_down_stock(conn, imported.integration_id, seconds=cool_down)
    log.warning("stock file refused as a whole (%r): %d SKU(s) pending again, next file in %.0fs, "
                "%d given up", label, refused.requeued, cool_down, len(refused.given_up))
    METRICS.stock_skus_given_up.inc(len(refused.given_up))
    text = f"Rakuten refused {MAX_FILE_REFUSALS} files carrying this quantity as a whole ({label})."
    return [(sku, quantity, FILE_REFUSED, text) for sku, quantity in refused.given_up]


def _sync_failed(
    imported: stock_imports.StockImport, sku: str, quantity: int, code: str | None, text: str | None
) -> dict[str, object]:
    return outbound.stock_sync_failed(
        integration_id=imported.integration_id,
        account_id=imported.account_id,
        sku=sku,
        quantity=quantity,
        import_id=imported.rakuten_import_id,
        error_code=code,
        error_text=text,
    )
