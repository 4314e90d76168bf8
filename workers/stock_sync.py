"""Pushing stock to Rakuten: coalesced files within the quota, and their import reports.

Rakuten takes stock only as import files, about ten an hour per seller, so a
stock event never calls Rakuten by itself: it marks the SKU pending, and one file
per push interval carries every pending SKU's current quantity.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from connectors.rakuten import (
    ImportReport,
    ImportStatus,
    RakutenAuthError,
    RakutenError,
    RakutenInsufficientRights,
    RakutenRateLimited,
    build_stock_files,
)
from db import integrations, locks, outbox, stock, stock_imports
from db.stock import PendingLine
from events import outbound
from workers.context import Context
from workers.logs import log_context
from workers.metrics import METRICS
from workers.verification import INVALID_CREDENTIALS_DETAIL, refuse

log = logging.getLogger(__name__)

#: seconds a stock flush is leased, when claimed and again when its file slot is taken:
#: a flush whose worker vanished is tried again after that
FLUSH_LEASE_S = 120.0
#: seconds without stock files after Rakuten said the account may not import stock
NO_RIGHTS_COOL_DOWN_S = 3600.0
#: seconds after which a file whose report is still not final counts as failed (its
#: SKUs are sent again); Rakuten keeps reports about five days
REPORT_GIVE_UP_S = 86400.0


def push_stock(ctx: Context, integration_id: str) -> int | None:
    """Send the integration's pending SKUs in one file (split only by size); return SKUs sent.

    Returns None when no file was due (interval not over, sync off, another
    worker on it) or the upload failed; what was not sent stays pending.
    """
    interval = ctx.settings.rakuten.rakuten_stock_push_interval_s
    # a file whose upload's outcome is unknown is taken to be applied or dropped by
    # Rakuten a push interval and an HTTP timeout after the next flush: re-send then
    resend_unconfirmed = interval + ctx.settings.rakuten.rakuten_http_timeout_s
    with (
        locks.exclusive(ctx.pool, "stock", integration_id) as mine,
        log_context(integration_id=integration_id),
    ):
        if not mine:
            return None
        with ctx.pool.connection() as conn:
            current = integrations.get(conn, integration_id)
            lines = stock.pending_lines(conn, integration_id)
            # the slot is taken (and committed) before the upload: even if this
            # process dies mid-upload, no second file goes out within the interval
            if (
                current is None
                or not lines
                or not stock.begin_flush(
                    conn,
                    integration_id,
                    interval_s=interval,
                    lease_s=FLUSH_LEASE_S,
                    resend_unconfirmed_s=resend_unconfirmed,
                )
            ):
                return None
        try:
            return _send(ctx, current, lines)
        finally:
            with ctx.pool.connection() as conn:
                stock.end_flush(conn, integration_id, defer_s=None)


def _send(ctx: Context, current: integrations.Integration, lines: Sequence[PendingLine]) -> int | None:
    sendable = _drop_unsendable(ctx, current, lines)
    creds = ctx.credentials(current)
    sent = 0
    for content, chunk in _files(sendable):
        try:
            import_id = ctx.rakuten.upload_stock_file(creds, content)
        except RakutenError as exc:
            _upload_failed(ctx, current, exc)
            return None
        with ctx.pool.connection() as conn, conn.transaction():
            stock_imports.record_import(
                conn,
                current.integration_id,
                rakuten_import_id=import_id,
                kind="changes",
                lines=[(line.sku, line.quantity) for line in chunk],
                report_in_s=ctx.settings.rakuten.rakuten_report_poll_interval_s,
            )
            stock.clear_sent(conn, current.integration_id, chunk)
        sent += len(chunk)
        METRICS.stock_files.inc()
        METRICS.stock_skus_sent.inc(len(chunk))
        with log_context(import_id=import_id):
            log.info("stock file sent: %d SKU(s)", len(chunk))
    return sent


def _files(lines: Sequence[PendingLine]) -> list[tuple[bytes, list[PendingLine]]]:
    """Build the files (split in order, by size) and pair each with the lines it carries."""
    files = build_stock_files([(line.sku, line.quantity) for line in lines])
    paired: list[tuple[bytes, list[PendingLine]]] = []
    start = 0
    for content in files:
        count = content.count(b"<item>")
        paired.append((content, list(lines[start : start + count])))
        start += count
    return paired


def _drop_unsendable(
    ctx: Context, current: integrations.Integration, lines: Sequence[PendingLine]
) -> list[PendingLine]:
    """Keep the lines a stock file can carry; unmark the others and log them once."""
    good: list[PendingLine] = []
    bad: list[PendingLine] = []
    for line in lines:
        try:
            build_stock_files([(line.sku, line.quantity)])
        except ValueError:
            bad.append(line)
        else:
            good.append(line)
    if bad:
        with ctx.pool.connection() as conn:
            stock.clear_sent(conn, current.integration_id, bad)
        log.error(
            "%d SKU(s) cannot be written in a Rakuten stock file and were skipped: %r",
            len(bad),
            [line.sku for line in bad[:10]],
        )
    return good


def _upload_failed(ctx: Context, current: integrations.Integration, exc: RakutenError) -> None:
    METRICS.rakuten_failures.labels(operation="stock_upload", error=type(exc).__name__).inc()
    if isinstance(exc, RakutenAuthError):
        refuse(ctx, current, "invalid_credentials", INVALID_CREDENTIALS_DETAIL)
        return
    defer: float | None = None
    if isinstance(exc, RakutenRateLimited):
        METRICS.quota_hits.labels(operation="stock_upload").inc()
        defer = ctx.settings.rakuten.rakuten_stock_push_interval_s
    elif isinstance(exc, RakutenInsufficientRights):
        defer = NO_RIGHTS_COOL_DOWN_S
    with ctx.pool.connection() as conn:
        stock.end_flush(conn, current.integration_id, defer_s=defer)
    log.warning("stock upload failed (%s: %s); SKUs stay pending", type(exc).__name__, exc)


def poll_import_report(ctx: Context, import_pk: int) -> str | None:
    """Read a stock file's report; record the outcome when final; return the import's status."""
    with ctx.pool.connection() as conn:
        imported = stock_imports.get_import(conn, import_pk)
        current = integrations.get(conn, imported.integration_id) if imported else None
    if imported is None or imported.status != "pending" or current is None or current.status != "verified":
        return None
    with log_context(integration_id=current.integration_id, import_id=imported.rakuten_import_id):
        try:
            report = ctx.rakuten.get_import_report(ctx.credentials(current), imported.rakuten_import_id)
        except RakutenAuthError:
            refuse(ctx, current, "invalid_credentials", INVALID_CREDENTIALS_DETAIL)
            return None
        except RakutenError as exc:
            METRICS.rakuten_failures.labels(operation="stock_report", error=type(exc).__name__).inc()
            _defer(ctx, import_pk, label=None)
            log.warning("reading the import report failed (%s)", type(exc).__name__)
            return "pending"
        if report.status is ImportStatus.PENDING and not _given_up(ctx, imported):
            _defer(ctx, import_pk, label=report.status_label)
            return "pending"
        return _finish(ctx, imported, report)


def _given_up(ctx: Context, imported: stock_imports.StockImport) -> bool:
    interval = ctx.settings.rakuten.rakuten_report_poll_interval_s
    return imported.report_attempts * interval >= REPORT_GIVE_UP_S


def _defer(ctx: Context, import_pk: int, *, label: str | None) -> None:
    with ctx.pool.connection() as conn:
        stock_imports.defer_report(
            conn, import_pk, in_s=ctx.settings.rakuten.rakuten_report_poll_interval_s, label=label
        )


def _finish(ctx: Context, imported: stock_imports.StockImport, report: ImportReport) -> str:
    status = "done" if report.status is ImportStatus.DONE else "failed"  # also: never final
    errors = [(e.sku, e.error_code, e.error_text) for e in report.errors]
    with ctx.pool.connection() as conn, conn.transaction():
        rejected = stock_imports.finish_import(
            conn, imported.id, status=status, label=report.status_label, errors=errors
        )
        if rejected is None:
            return status
        if status == "failed":
            requeued = stock_imports.requeue_lines(conn, imported.id)
            integrations.reconcile_soon(conn, imported.integration_id)
            log.warning(
                "stock file failed as a whole (%r): %d SKU(s) pending again", report.status_label, requeued
            )
        outbox.add_events(
            conn,
            [
                outbound.stock_sync_failed(
                    integration_id=imported.integration_id,
                    account_id=imported.account_id,
                    sku=sku,
                    quantity=quantity,
                    import_id=imported.rakuten_import_id,
                    error_code=code,
                    error_text=text,
                )
                for sku, quantity, code, text in rejected
            ],
        )
    METRICS.stock_skus_rejected.inc(len(rejected))
    if status == "failed":
        METRICS.stock_files_failed.inc()
    if rejected:
        log.warning("Rakuten rejected %d SKU(s) of the stock file", len(rejected))
        ctx.dispatch.send("relay_outbox")
    return status
