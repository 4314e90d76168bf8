"""An event redelivered after its inbox id was pruned changes nothing.

Its id is no longer remembered, so the ingress applies it again: what makes that
harmless is the data itself. Stock is latest-wins per (account, SKU), so an old
quantity never overwrites a newer one and an equal one marks nothing pending (no
new file for Rakuten); integration events are latest-wins by their `time`, so an
old install does not undo a later update.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from connectors.rakuten.sandbox import Sandbox
from events.inbound import InboundEvent
from tests.flows.harness import World, event, install, world
from tests.waiting import wait_until
from workers.retention import Pruner

RETENTION_S = 1.0


@pytest.fixture
def wr(fresh_database: str, sandbox: Sandbox) -> Iterator[World]:
    with world(fresh_database, sandbox, inbox_retention_s=RETENTION_S, rakuten_stock_push_interval_s=0.2,
               rakuten_order_poll_interval_s=0.2) as built:
        yield built


def _forget(w: World, events: list[InboundEvent]) -> None:
    """Prune until the events' ids are no longer in the inbox."""
    pruner = Pruner(w.ctx.settings.retention)
    ids = [e.id for e in events]

    def forgotten() -> bool:
        with psycopg.connect(w.ctx.settings.database.database_url.unicode_string(), autocommit=True) as conn:
            pruner.run(conn)
        return bool(w.scalar("SELECT count(*) FROM inbox WHERE event_id = ANY(%s)", ids) == 0)

    wait_until(forgotten, "the inbox ids to be pruned", timeout=RETENTION_S + 5)


def _remembered(w: World, *events: InboundEvent) -> int:
    return int(w.scalar("SELECT count(*) FROM inbox WHERE event_id = ANY(%s)", [e.id for e in events]))


def test_stock_events_redelivered_after_pruning_change_no_quantity_and_send_no_file(
    wr: World, sandbox: Sandbox
) -> None:
    sandbox.add_seller("ShopR", "tok-r")
    sandbox.set_listings("ShopR", {"SKU-1": 1})
    wr.apply(install("int-r", "acc-r", "ShopR", "tok-r", stock_sync_enabled=True))
    wr.drive_until(lambda: wr.outbox("integration.verified", "int-r"))
    older = event("stock.changed", {"account_id": "acc-r", "sku": "SKU-1", "quantity": 5, "version": 1})
    newer = event("stock.changed", {"account_id": "acc-r", "sku": "SKU-1", "quantity": 7, "version": 2})
    wr.apply(older, newer)
    wr.drive_until(lambda: sandbox.listings("ShopR") == {"SKU-1": 7}
                   and wr.scalar("SELECT count(*) FROM stock_pending") == 0)
    files = len(sandbox.files("ShopR"))

    _forget(wr, [older, newer])
    wr.apply(newer, older)
    assert _remembered(wr, older, newer) == 2, "the redeliveries were taken for new events"
    assert wr.scalar("SELECT quantity FROM stock_levels WHERE account_id = 'acc-r'") == 7
    assert wr.scalar("SELECT count(*) FROM stock_pending") == 0
    wr.drive_for(0.6)
    assert len(sandbox.files("ShopR")) == files and sandbox.listings("ShopR") == {"SKU-1": 7}


def test_an_install_redelivered_after_pruning_does_not_undo_a_later_update(
    wr: World, sandbox: Sandbox
) -> None:
    sandbox.add_seller("ShopI", "tok-i")
    start = datetime.now(UTC) - timedelta(seconds=10)
    ids = {"integration_id": "int-i", "account_id": "acc-i", "app": "rakuten"}
    first = event("integration.installed", {**ids, "seller_id": "ShopI", "token": "tok-i"}, time_=start)
    wr.apply(first)
    wr.drive_until(lambda: wr.outbox("integration.verified", "int-i"))
    update = {**ids, "application_name": "Rakuten FR", "stock_sync_enabled": True}
    wr.apply(event("integration.updated", update, time_=start + timedelta(seconds=5)))
    wr.run_tasks()
    sent = len(wr.dispatch.sent)

    _forget(wr, [first])
    wr.apply(first)
    assert _remembered(wr, first) == 1, "the redelivery was taken for a new event"
    row = wr.integration("int-i")
    assert (row["application_name"], row["stock_sync_enabled"]) == ("Rakuten FR", True)
    assert row["status"] == "verified"
    assert row["credentials_version"] == 1
    assert wr.dispatch.sent[sent:] == [], "nothing is verified again"

    # a deletion is final whatever its time
    wr.apply(event("integration.deleted", ids, time_=start - timedelta(seconds=60)))
    assert wr.integration("int-i")["status"] == "deleted"
