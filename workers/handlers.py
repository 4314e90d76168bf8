"""Applying inbound events: the handler the ingress hands each batch of valid events to.

A batch is applied in one transaction with its inbox rows, so an event counts as
processed exactly when its effects commit; a redelivered event changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from db import inbox, integrations, schedule, stock
from db.errors import retryable
from events.inbound import (
    InboundEvent,
    IntegrationDeleted,
    IntegrationInstalled,
    IntegrationUpdated,
    StockChanged,
)
from events.inbound_orders import OrderCancelRequested, OrderShipped
from workers.cancel_requests import apply_request
from workers.context import Dispatcher
from workers.crypto import TokenCipher, TokenDecryptError
from workers.logs import log_context
from workers.settings import RakutenSettings
from workers.shipping.intake import apply_shipped

log = logging.getLogger(__name__)

#: seconds before the scheduler re-sends a verification whose message was lost
VERIFY_LEASE_S = 60.0
#: seconds the database may take to answer the ingress's probe after a failure
PROBE_TIMEOUT_S = 5.0
DEFAULT_SHIPMENT_HOLD_S = RakutenSettings.model_fields["rakuten_shipment_hold_s"].default


class IntegrationConflict(Exception):
    """Raised when an event names an integration that belongs to another account."""


class UnknownIntegration(Exception):
    """Raised when an update names an integration that was never installed here.

    It may have overtaken its install (several ingresses consume one queue): the
    update is dead-lettered, to be replayed once the install is applied.
    """


#: statuses in which credentials sent again unchanged are verified again: the merchant
#: pressed Confirm after fixing something on Rakuten's side, or Rakuten is back
REVERIFIED_STATUSES = frozenset({"invalid_credentials", "insufficient_rights", "unavailable"})


@dataclass
class _Followups:
    #: (integration id, token) of the verifications claimed by the batch
    verify: list[tuple[str, int]] = field(default_factory=list)
    relay: bool = False  #: events were written to the outbox


def is_transient(exc: BaseException) -> bool:
    """Whether a handler error is worth retrying as is: PostgreSQL's SQLSTATE says so.

    `ProgramLimitExceeded` (an id too long for the inbox index) is an
    `OperationalError` like a dropped connection; only the SQLSTATE tells them apart.
    """
    return retryable(exc)


class EventHandler:
    """Applies batches of inbound events; callable, as the ingress expects."""

    def __init__(
        self,
        pool: ConnectionPool,
        cipher: TokenCipher,
        dispatch: Dispatcher,
        *,
        shipment_hold_s: float = DEFAULT_SHIPMENT_HOLD_S,
    ) -> None:
        self.pool = pool
        self.cipher = cipher
        self.dispatch = dispatch
        #: RAKUTEN_SHIPMENT_HOLD_S: how long a shipment waits for its items' acceptance
        self.shipment_hold_s = shipment_hold_s

    def __call__(self, events: Sequence[InboundEvent]) -> None:
        """Apply `events` in one transaction, then send the verifications they call for."""
        followups = _Followups()
        with self.pool.connection() as conn, conn.transaction():
            fresh = _first_time(conn, events)
            for event in fresh:
                if isinstance(event.data, OrderShipped):
                    shipped = apply_shipped(conn, event, hold_s=self.shipment_hold_s)
                    followups.relay = shipped or followups.relay
                elif isinstance(event.data, OrderCancelRequested):
                    with log_context(integration_id=event.data.integration_id):
                        followups.relay = apply_request(conn, event.id, event.data) or followups.relay
                elif not isinstance(event.data, StockChanged):
                    self._apply_integration_event(conn, event, followups)
            stock.apply_changes(
                conn,
                [
                    stock.StockChange(
                        e.data.account_id, e.data.sku, e.data.quantity, e.data.version, e.time, e.id
                    )
                    for e in fresh
                    if isinstance(e.data, StockChanged)
                ],
            )
        self._send_verifications(followups.verify)
        if followups.relay:
            self._send_relay()

    def _send_relay(self) -> None:
        """Have the outbox relayed now; when the broker is away, the scheduler's sweep will."""
        try:
            self.dispatch.send("relay_outbox")
        except Exception as exc:
            log.warning("could not send the outbox relay (%s); the sweep will", type(exc).__name__)

    def database_answers(self) -> bool:
        """Whether PostgreSQL answers at all (the ingress asks after a transient failure)."""
        try:
            with self.pool.connection(timeout=PROBE_TIMEOUT_S) as conn:
                conn.execute("SELECT 1")
        except Exception as exc:  # whatever the reason, it does not answer
            log.debug("database probe failed: %s", type(exc).__name__)
            return False
        return True

    def _send_verifications(self, claimed: Sequence[tuple[str, int]]) -> None:
        """Send the verifications; those the broker does not take are left to the scheduler.

        The events are applied and committed by now: failing them would dead-letter
        applied events, or have them redelivered and found already applied, with
        no verification sent until its lease ends.
        """
        for position, (integration_id, token) in enumerate(claimed):
            try:
                self.dispatch.send("verify", integration_id, token)
            except Exception as exc:
                log.warning("could not send the verification (%s); the scheduler will", type(exc).__name__)
                try:
                    with self.pool.connection() as conn:
                        schedule.release(conn, "verify", list(claimed[position:]))
                except Exception as db_exc:  # then its lease brings it back
                    log.warning("could not make the verification due now (%s)", type(db_exc).__name__)
                return

    def _apply_integration_event(
        self, conn: psycopg.Connection[Any], event: InboundEvent, followups: _Followups
    ) -> None:
        data = event.data
        assert isinstance(data, IntegrationInstalled | IntegrationUpdated | IntegrationDeleted)
        with log_context(integration_id=data.integration_id):
            current = integrations.get(conn, data.integration_id, lock=True)
            if current is not None and current.account_id != data.account_id:
                raise IntegrationConflict(f"integration {data.integration_id} belongs to another account")
            if current is not None and current.status == "deleted":
                log.info("ignoring %r: the integration was deleted", event.type)
                return
            if _superseded(current, event):
                log.info("ignoring %r older than the integration's last change", event.type)
                return
            if isinstance(data, IntegrationDeleted):
                if current is None:
                    # deleted before its install arrived (two ingresses can reorder them):
                    # the tombstone makes the late install change nothing
                    integrations.insert_tombstone(conn, data.integration_id, data.account_id)
                else:
                    integrations.delete(conn, data.integration_id)
                log.info("integration deleted: token erased, polling and pushing stopped")
            elif current is None and isinstance(data, IntegrationUpdated):
                # applying it later is the operator's call: it waits in the dead letters
                raise UnknownIntegration(f"integration {data.integration_id} is not installed (yet)")
            elif current is None:
                assert isinstance(data, IntegrationInstalled)
                self._install(conn, data, followups)
            else:
                self._update(conn, current, data, followups)
            integrations.record_event_time(conn, data.integration_id, event.time)

    def _install(
        self, conn: psycopg.Connection[Any], data: IntegrationInstalled, followups: _Followups
    ) -> None:
        token = integrations.insert(
            conn,
            integration_id=data.integration_id,
            account_id=data.account_id,
            application_name=data.application_name,
            seller_id=data.seller_id,
            token_encrypted=self.cipher.encrypt(data.token.get_secret_value()),
            stock_sync_enabled=data.stock_sync_enabled,
            auto_accept_orders=data.auto_accept_orders,
            verify_lease_s=VERIFY_LEASE_S,
        )
        followups.verify.append((data.integration_id, token))
        log.info("integration installed (stock sync %s)", "on" if data.stock_sync_enabled else "off")

    def _update(
        self,
        conn: psycopg.Connection[Any],
        current: integrations.Integration,
        data: IntegrationInstalled | IntegrationUpdated,
        followups: _Followups,
    ) -> None:
        """Apply the fields present (all of them for a repeated install)."""
        present = data.changes() if isinstance(data, IntegrationUpdated) else data.model_dump()
        sync_on = present.get("stock_sync_enabled", current.stock_sync_enabled)
        integrations.update_settings(
            conn,
            current.integration_id,
            application_name=present.get("application_name", current.application_name),
            stock_sync_enabled=sync_on,
            auto_accept_orders=present.get("auto_accept_orders", current.auto_accept_orders),
            push_all_stock=sync_on and not current.stock_sync_enabled,
        )
        if isinstance(data, IntegrationUpdated) and not data.changes_credentials:
            log.info("integration settings updated")  # no need to decrypt the stored token
            return
        seller_id = present.get("seller_id", current.seller_id)
        token = present.get("token")
        old_token = self._stored_token(current)
        new_token = token.get_secret_value() if token is not None else old_token
        changed = seller_id != current.seller_id or new_token != old_token
        # the same credentials sent again for a stopped integration: the merchant pressed
        # Confirm again, and deserves an answer of its own (a new credentials version)
        confirmed = _sends_credentials(data) and current.status in REVERIFIED_STATUSES
        if new_token is not None and (changed or confirmed):
            token_of_claim = integrations.update_credentials(
                conn,
                current.integration_id,
                seller_id=seller_id,
                token_encrypted=self.cipher.encrypt(new_token),
                verify_lease_s=VERIFY_LEASE_S,
            )
            followups.verify.append((current.integration_id, token_of_claim))
            log.info("integration credentials %s: verifying again", "changed" if changed else "sent again")
        else:
            log.info("integration settings updated")

    def _stored_token(self, current: integrations.Integration) -> str | None:
        if current.token_encrypted is None:
            return None
        try:
            return self.cipher.decrypt(current.token_encrypted)
        except TokenDecryptError:
            # the key changed: the stored token is lost, but a new one can replace it
            log.error("the stored token cannot be decrypted with TOKEN_ENCRYPTION_KEY")
            return None


def _superseded(current: integrations.Integration | None, event: InboundEvent) -> bool:
    """Whether a newer event already set the integration: latest wins.

    A redelivery whose inbox id was pruned, or a late copy, must not undo a later
    change. A deletion is final whatever its time (nothing revives a deleted one).
    """
    return (
        current is not None
        and current.last_event_time is not None
        and not isinstance(event.data, IntegrationDeleted)
        and event.time < current.last_event_time
    )


def _sends_credentials(data: IntegrationInstalled | IntegrationUpdated) -> bool:
    """Whether the event carries a seller ID or a token (a repeated install carries both)."""
    return not isinstance(data, IntegrationUpdated) or data.changes_credentials


def _first_time(conn: psycopg.Connection[Any], events: Sequence[InboundEvent]) -> list[InboundEvent]:
    """Record the batch in the inbox; return the events never applied before, in order."""
    new_ids = inbox.record_new(conn, [(e.id, e.type) for e in events])
    fresh: list[InboundEvent] = []
    for event in events:
        if event.id in new_ids:
            new_ids.discard(event.id)
            fresh.append(event)
    return fresh
