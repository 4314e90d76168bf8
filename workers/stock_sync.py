"""Pushing stock to Rakuten: coalesced files within the quota.

Rakuten takes stock only as import files, about ten an hour per seller, so a
stock event never calls Rakuten by itself: it marks the SKU pending, and one file
per push interval carries every pending SKU's current quantity. A file Rakuten
takes is recorded whatever the database does meanwhile (`workers.retrying`), so it
is never sent twice; a file Rakuten refuses (quota, an error code) puts nothing
into a full re-send: its SKUs stay pending and wait a bounded, growing cool-down.
The import reports are read by `workers.stock_reports`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import partial

from connectors.rakuten import (
    RakutenAuthError,
    RakutenError,
    RakutenInsufficientRights,
    RakutenRateLimited,
    RakutenRejected,
    build_stock_files,
)
from db import integrations, leases, stock, stock_imports
from db.stock import PendingLine
from workers.claims import Claim
from workers.context import Context
from workers.logs import log_context
from workers.metrics import METRICS
from workers.retrying import retried
from workers.stock_reports import MAX_FILE_REFUSALS, poll_import_report, refusal_cool_down
from workers.verification import confirm_credentials

__all__ = ["poll_import_report", "push_stock"]

log = logging.getLogger(__name__)

#: seconds without stock files after Rakuten said the account may not import stock
NO_RIGHTS_COOL_DOWN_S = 3600.0


def push_stock(ctx: Context, integration_id: str, token: int) -> int | None:
    """Send the integration's pending SKUs in one file (split only by size); return SKUs sent.

    `token` is the claim's fencing token: a stale one does nothing. Returns None
    when no file was due (interval not over, sync off, stale token) or the upload
    failed; what was not sent stays pending.
    """
    interval = ctx.settings.rakuten.rakuten_stock_push_interval_s
    # a file whose upload's outcome is unknown is taken to be applied or dropped by
    # Rakuten a push interval and an HTTP timeout after the next flush: re-send then
    resend_unconfirmed = interval + ctx.settings.rakuten.rakuten_http_timeout_s
    claim = Claim.of(ctx, leases.STOCK, [integration_id], token)
    with log_context(integration_id=integration_id):
        if not claim.start():
            return None
        defer: float | None = None
        try:
            # the slot is taken (and committed) before the upload: even if this process
            # dies mid-upload, no second file goes out within the interval
            with ctx.pool.connection() as conn:
                current = integrations.get(conn, integration_id)
                lines = stock.pending_lines(conn, integration_id)
                if current is None or not lines or not stock.begin_flush(
                    conn, integration_id, token, interval_s=interval, resend_unconfirmed_s=resend_unconfirmed
                ):
                    return None
            with claim.kept():
                sent, defer = _send(ctx, current, claim, lines)
            return sent
        finally:
            retried(partial(_end_flush, ctx, integration_id, token, defer), what="the end of a stock flush")


def _end_flush(ctx: Context, integration_id: str, token: int, defer: float | None) -> None:
    with ctx.pool.connection() as conn:
        stock.end_flush(conn, integration_id, token, defer_s=defer)


def _send(
    ctx: Context, current: integrations.Integration, claim: Claim, lines: Sequence[PendingLine]
) -> tuple[int | None, float | None]:
    """Upload the files; return the SKUs sent (None on failure) and the cool-down to apply."""
    sendable = _drop_unsendable(ctx, current, lines)
    creds = ctx.credentials(current)
    sent = 0
    for content, chunk in _files(sendable):
        with ctx.pool.connection() as conn:
            if not stock.set_upload_unconfirmed(conn, current.integration_id, claim.token, unconfirmed=True):
                log.warning("stock flush claimed again meanwhile; stopping before the upload")
                return None, None
        try:
            import_id = ctx.rakuten.upload_stock_file(creds, content)
        except RakutenError as exc:
            return None, _upload_failed(ctx, current, claim, chunk, exc)
        # Rakuten has the file: forgetting it now would send it again, so this is recorded
        # through a terminated session too, whatever the token (the file is a fact)
        retried(partial(_record_upload, ctx, current, claim, chunk, import_id), what="a stock file")
        sent += len(chunk)
        METRICS.stock_files.inc()
        METRICS.stock_skus_sent.inc(len(chunk))
        with log_context(import_id=import_id):
            log.info("stock file sent: %d SKU(s)", len(chunk))
    return sent, None


def _record_upload(
    ctx: Context,
    current: integrations.Integration,
    claim: Claim,
    chunk: Sequence[PendingLine],
    import_id: str,
) -> None:
    with ctx.pool.connection() as conn, conn.transaction():
        stock_imports.record_import(
            conn,
            current.integration_id,
            rakuten_import_id=import_id,
            kind="changes",
            lines=[(line.sku, line.quantity, line.refusals) for line in chunk],
            report_in_s=ctx.settings.rakuten.rakuten_report_poll_interval_s,
        )
        stock.clear_sent(conn, current.integration_id, chunk)
        stock.set_upload_unconfirmed(conn, current.integration_id, claim.token, unconfirmed=False)


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


def _upload_failed(
    ctx: Context,
    current: integrations.Integration,
    claim: Claim,
    chunk: Sequence[PendingLine],
    exc: RakutenError,
) -> float | None:
    """Say what the failure means for the file's SKUs; return the cool-down before the next file.

    An answer from Rakuten (quota, rights, credentials, an error code) means the file
    was not taken; a timeout, a 5xx or an unreadable answer leaves its fate unknown.
    """
    METRICS.rakuten_failures.labels(operation="stock_upload", error=type(exc).__name__).inc()
    log.warning("stock upload failed (%s: %s); SKUs stay pending", type(exc).__name__, exc)
    interval = ctx.settings.rakuten.rakuten_stock_push_interval_s
    answered = isinstance(exc, RakutenRejected | RakutenRateLimited)
    if answered:
        with ctx.pool.connection() as conn:
            stock.set_upload_unconfirmed(conn, current.integration_id, claim.token, unconfirmed=False)
    if isinstance(exc, RakutenAuthError):
        confirm_credentials(ctx, current, "stock_upload")
        return None
    if isinstance(exc, RakutenRateLimited):
        METRICS.quota_hits.labels(operation="stock_upload").inc()
        return interval
    if isinstance(exc, RakutenInsufficientRights):
        return NO_RIGHTS_COOL_DOWN_S
    if isinstance(exc, RakutenRejected):
        return _refused(ctx, current, chunk, exc)
    return None


def _refused(
    ctx: Context, current: integrations.Integration, chunk: Sequence[PendingLine], exc: RakutenRejected
) -> float:
    """Rakuten refused the file with an error code: count it, back off, give up past the bound."""
    with ctx.pool.connection() as conn, conn.transaction():
        refusals = stock.count_refusal(conn, current.integration_id, chunk)
        given_up = [line for line in chunk if line.refusals + 1 >= MAX_FILE_REFUSALS]
        stock.clear_sent(conn, current.integration_id, given_up)
    METRICS.stock_files_failed.inc()
    if given_up:
        METRICS.stock_skus_given_up.inc(len(given_up))
        log.error("Rakuten refused %d file(s) with these SKUs (%s); not sending them again: %r",
                  MAX_FILE_REFUSALS, exc.code, [line.sku for line in given_up[:10]])
    return refusal_cool_down(ctx, refusals)
