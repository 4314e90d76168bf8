"""A deleted integration's orders and buyers' data are erased ERASE_DELETED_AFTER_S later.

The check is a grep of the whole database dump for a buyer's e-mail, names, phone
and parcel: wherever a copy hides (an order's JSON, an outbound event's body, a
shipment), it fails; and no table but the tombstone's still names the integration.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from psycopg import sql

from connectors.rakuten.sandbox import Sandbox
from tests.e2e.reliability_helpers import database_dump
from tests.flows.harness import World, event, install, world
from tests.waiting import wait_until
from workers.retention import Pruner

ERASE_AFTER_S = 2.0


@dataclass(frozen=True)
class Merchant:
    integration_id: str
    account_id: str
    login: str
    buyer: dict[str, str]

    @property
    def personal(self) -> list[str]:
        """What identifies the buyer: e-mail, first and last name, phone, street; and the parcel."""
        return [*(self.buyer[k] for k in ("email", "first_name", "last_name", "phone", "address1")),
                self.tracking]

    @property
    def tracking(self) -> str:
        return f"6A{self.integration_id[4:]}FR"


@pytest.fixture
def we(fresh_database: str, sandbox: Sandbox) -> Iterator[World]:
    with world(fresh_database, sandbox, rakuten_order_poll_interval_s=0.2, rakuten_stock_push_interval_s=0.2,
               erase_deleted_after_s=ERASE_AFTER_S) as built:
        yield built


def _merchant_with_an_order(w: World, sandbox: Sandbox) -> Merchant:
    tag = uuid.uuid4().hex[:8]
    buyer = {"login": f"buyer{tag}", "email": f"zoe.{tag}@example.org", "first_name": f"Zoé{tag}",
             "last_name": f"Quenouille{tag}", "phone": f"06{int(tag, 16) % 10**8:08d}",
             "address1": f"{tag} rue des Lilas", "city": "Lyon", "zipcode": "69001"}
    m = Merchant(f"int-{tag}", f"acc-{tag}", f"Shop{tag}", buyer)
    sandbox.add_seller(m.login, f"tok-{tag}")
    sandbox.set_listings(m.login, {"SKU-1": 1})
    w.apply(install(m.integration_id, m.account_id, m.login, f"tok-{tag}", stock_sync_enabled=True))
    added = sandbox.add_sales(m.login, [{"buyer": buyer, "items": [{"sku": "SKU-1", "price": "5"}] * 2}])
    w.drive_until(lambda: w.outbox("order.imported", m.integration_id))
    sandbox.set_item_status(m.login, added[0]["item_ids"][0], "CANCELLED")  # an order change is recorded
    w.apply(event("stock.changed", {"account_id": m.account_id, "sku": "SKU-1", "quantity": 3}))
    w.apply(event("order.shipped", {"integration_id": m.integration_id, "account_id": m.account_id,
                                    "app": "rakuten", "order_id": added[0]["purchase_id"],
                                    "carrier": "colissimo", "tracking_number": m.tracking}))
    w.drive_until(lambda: all(_rows(w, m.integration_id).values()))
    return m


def _rows(w: World, integration_id: str) -> dict[str, int]:
    queries = {
        "orders": "SELECT count(*) FROM orders WHERE integration_id = %s",
        "items": "SELECT count(*) FROM order_items WHERE integration_id = %s",
        "order_changes": "SELECT count(*) FROM order_changes WHERE integration_id = %s",
        "outbox": "SELECT count(*) FROM outbox WHERE body -> 'data' ->> 'integration_id' = %s",
        "files": "SELECT count(*) FROM stock_imports WHERE integration_id = %s",
        "shipments": "SELECT count(*) FROM shipments WHERE integration_id = %s",
    }
    return {name: int(w.scalar(query, integration_id)) for name, query in queries.items()}


def _left_in_any_table(w: World, integration_id: str) -> dict[str, int]:
    """Rows naming the integration, in every table with an integration_id column."""
    counts: dict[str, int] = {}
    with w.pool.connection() as conn:
        tables = [row[0] for row in conn.execute(
            "SELECT table_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND column_name = 'integration_id'")]
        for table in tables:
            query = sql.SQL("SELECT count(*) FROM {} WHERE integration_id = %s").format(sql.Identifier(table))
            row = conn.execute(query, (integration_id,)).fetchone()
            if row and row[0]:
                counts[table] = int(row[0])
    return counts


def _erase_pass(w: World, pruner: Pruner) -> list[str]:
    with psycopg.connect(w.ctx.settings.database.database_url.unicode_string(), autocommit=True) as conn:
        return pruner.run(conn).erased


def test_a_deleted_integrations_buyers_data_is_gone_from_the_whole_dump_after_the_erase_delay(
    we: World, sandbox: Sandbox
) -> None:
    leaving, staying = _merchant_with_an_order(we, sandbox), _merchant_with_an_order(we, sandbox)
    url = we.ctx.settings.database.database_url.unicode_string()
    pruner = Pruner(we.ctx.settings.retention)
    assert all(value in database_dump(url) for value in leaving.personal)

    we.apply(event("integration.deleted", {"integration_id": leaving.integration_id,
                                           "account_id": leaving.account_id, "app": "rakuten"}))
    assert _erase_pass(we, pruner) == [], "nothing is erased before the delay"
    assert all(value in database_dump(url) for value in leaving.personal)

    wait_until(lambda: leaving.integration_id in _erase_pass(we, pruner), "the erasure",
               timeout=ERASE_AFTER_S + 5)
    dump = database_dump(url)
    for value in leaving.personal:
        assert value not in dump, f"{value!r} is still in the database"
    assert all(value in dump for value in staying.personal), "another merchant's buyers stay"
    assert _rows(we, leaving.integration_id) == dict.fromkeys(_rows(we, leaving.integration_id), 0)
    assert _left_in_any_table(we, leaving.integration_id) == {"integrations": 1}, "only the tombstone"
    assert all(_rows(we, staying.integration_id).values())
    assert leaving.login not in dump, "the tombstone no longer names the shop"

    # the tombstone stays: a late install of the same integration changes nothing
    we.apply(install(leaving.integration_id, leaving.account_id, leaving.login, "tok-again"))
    row: dict[str, Any] = we.integration(leaving.integration_id)
    assert (row["status"], row["token_encrypted"]) == ("deleted", None) and row["erased_at"] is not None
    assert _erase_pass(we, pruner) == [], "an erased integration is erased once"
