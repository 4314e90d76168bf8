"""Verifying an integration's credentials and publishing the outcome.

The status and the outcome event are written in one transaction (outbox). Rakuten
refusing the credentials is final until the merchant edits them (or confirms them
again); Rakuten being unavailable (or throttling us) is retried, a few times
quickly, then rarely, and a later success still publishes `integration.verified`.

Only a verification stops an integration: a poll, an upload or an acceptance that
Rakuten refuses with InvalidUserConnection asks for one (`confirm_credentials`),
and the integration stays verified unless the verification's own call is refused.
"""

from __future__ import annotations

import logging

from connectors.rakuten import (
    RakutenAuthError,
    RakutenError,
    RakutenInsufficientRights,
)
from db import integrations, leases, outbox
from events import outbound
from workers.claims import Claim
from workers.context import Context
from workers.logs import log_context
from workers.metrics import METRICS

log = logging.getLogger(__name__)

#: quick attempts (with backoff) before `rakuten_unavailable` is reported
QUICK_ATTEMPTS = 4
#: once Rakuten was reported unavailable, attempts are this many retry bases apart (5 min
#: with the default base of 2 s), doubling up to SLOW_RETRY_MAX_FACTOR bases (1 hour)
SLOW_RETRY_FACTOR = 150
SLOW_RETRY_MAX_FACTOR = 1800

INVALID_CREDENTIALS_DETAIL = (
    "Rakuten refused the seller ID or the token. Check that the seller ID is the shop name "
    "exactly as shown in the Rakuten Merchant Center, and that the token was copied whole "
    "(Analytics > API & webservices)."
)
INSUFFICIENT_RIGHTS_DETAIL = (
    "This Rakuten account may not use the seller web services (a professional seller account is required)."
)


def verify_integration(ctx: Context, integration_id: str, token: int) -> str | None:
    """Check the integration's credentials with Rakuten; record and publish the outcome.

    `token` is the claim's fencing token: a stale one does nothing. Returns the
    status recorded, or None when there was nothing to verify (deleted, stale
    token, or the credentials changed meanwhile). A verified integration is
    verified again only to confirm a refusal seen by another call.
    """
    claim = Claim.of(ctx, leases.VERIFY, [integration_id], token)
    with log_context(integration_id=integration_id):
        if not claim.start():
            return None
        with ctx.pool.connection() as conn:
            current = integrations.get(conn, integration_id)
        if current is None or current.status not in ("pending", "unavailable", "verified"):
            return None
        creds = ctx.credentials(current)
        try:
            with claim.kept():
                rakuten_seller_id = ctx.rakuten.check_credentials(creds)
        except RakutenAuthError:
            return refuse(ctx, current, claim, "invalid_credentials", INVALID_CREDENTIALS_DETAIL)
        except RakutenInsufficientRights:
            return refuse(ctx, current, claim, "insufficient_rights", INSUFFICIENT_RIGHTS_DETAIL)
        except RakutenError as exc:  # unavailable, throttled, or an answer we cannot read
            if current.status == "verified":
                return _unconfirmed(ctx, current, claim, exc)
            return _unavailable(ctx, current, claim, exc)
        if current.status == "verified":
            return _confirmed(ctx, current, claim)
        return _verified(ctx, current, claim, rakuten_seller_id)


def confirm_credentials(ctx: Context, current: integrations.Integration, operation: str) -> None:
    """Ask for a verification: Rakuten refused the credentials once, during `operation`.

    One refusal may be Rakuten's hiccup: the integration stays verified until the
    verification's own call is refused too.
    """
    with ctx.pool.connection() as conn:
        asked = integrations.request_verification(conn, current.integration_id)
    if asked:
        log.warning("Rakuten refused the credentials during %s: verifying them again", operation)


def _verified(
    ctx: Context, current: integrations.Integration, claim: Claim, rakuten_seller_id: str
) -> str | None:
    with ctx.pool.connection() as conn, conn.transaction():
        if not claim.holds(conn):
            return None
        verified_at = integrations.record_verified(
            conn,
            current.integration_id,
            version=current.credentials_version,
            rakuten_seller_id=rakuten_seller_id,
        )
        if verified_at is None:
            return None
        outbox.add_event(
            conn,
            outbound.integration_verified(
                integration_id=current.integration_id,
                account_id=current.account_id,
                seller_id=current.seller_id,
                rakuten_seller_id=rakuten_seller_id,
                verified_at=verified_at,
                credentials_version=current.credentials_version,
            ),
        )
    log.info("integration verified (Rakuten seller id %r)", rakuten_seller_id)
    METRICS.verifications.labels(outcome="verified").inc()
    ctx.dispatch.send("relay_outbox")
    return "verified"


def _confirmed(ctx: Context, current: integrations.Integration, claim: Claim) -> str | None:
    """The credentials a call saw refused work: the integration stays verified, nothing to publish."""
    with ctx.pool.connection() as conn, conn.transaction():
        if not claim.holds(conn) or not integrations.end_recheck(
            conn, current.integration_id, version=current.credentials_version
        ):
            return None
    log.info("credentials confirmed: the refusal was not Rakuten's last word")
    METRICS.verifications.labels(outcome="confirmed").inc()
    return "verified"


def _unconfirmed(
    ctx: Context, current: integrations.Integration, claim: Claim, exc: RakutenError
) -> str | None:
    """Rakuten could not be asked: a refusal unconfirmed stops nothing (the next refusal asks again)."""
    with ctx.pool.connection() as conn, conn.transaction():
        if not claim.holds(conn) or not integrations.end_recheck(
            conn, current.integration_id, version=current.credentials_version
        ):
            return None
    log.warning("could not confirm the credentials (%s); the integration stays verified", type(exc).__name__)
    return "verified"


def refuse(
    ctx: Context,
    current: integrations.Integration,
    claim: Claim,
    reason: outbound.VerificationFailure,
    detail: str,
) -> str | None:
    """Stop the integration because the verification's call was refused, and say so once.

    Nothing is polled or pushed for it until an update brings new credentials,
    or confirms the same ones again.
    """
    with ctx.pool.connection() as conn, conn.transaction():
        if not claim.holds(conn) or not integrations.record_refused(
            conn, current.integration_id, version=current.credentials_version, status=reason, detail=detail
        ):
            return None
        outbox.add_event(conn, _failed_event(current, reason, detail))
    log.warning("integration stopped: %s", reason)
    METRICS.verifications.labels(outcome=reason).inc()
    ctx.dispatch.send("relay_outbox")
    return reason


def _unavailable(
    ctx: Context, current: integrations.Integration, claim: Claim, exc: RakutenError
) -> str | None:
    base = ctx.settings.rakuten.rakuten_retry_base_s
    attempt = current.verify_attempts + 1
    give_up = attempt >= QUICK_ATTEMPTS
    if give_up:
        retry_in = base * min(SLOW_RETRY_FACTOR * 2 ** (attempt - QUICK_ATTEMPTS), SLOW_RETRY_MAX_FACTOR)
    else:
        retry_in = base * 2 ** (attempt - 1)
    detail = f"Rakuten could not be reached to verify the credentials ({type(exc).__name__})."
    with ctx.pool.connection() as conn, conn.transaction():
        if not claim.holds(conn):
            return None
        recorded = integrations.record_unavailable(
            conn,
            current.integration_id,
            version=current.credentials_version,
            retry_in_s=retry_in,
            give_up=give_up,
            detail=detail,
        )
        if recorded is None:
            return None
        if give_up:
            outbox.add_event(conn, _failed_event(current, "rakuten_unavailable", detail))
    log.warning("verification attempt %d failed (%s); next in %.0fs", attempt, type(exc).__name__, retry_in)
    if give_up:
        METRICS.verifications.labels(outcome="rakuten_unavailable").inc()
        ctx.dispatch.send("relay_outbox")
    return "unavailable" if give_up else "pending"


def _failed_event(
    current: integrations.Integration, reason: outbound.VerificationFailure, detail: str
) -> dict[str, object]:
    return outbound.verification_failed(
        integration_id=current.integration_id,
        account_id=current.account_id,
        reason=reason,
        detail=detail,
        credentials_version=current.credentials_version,
    )
