"""An automatic acceptance and a refusal asked at the same time are decided once, by the item's row lock."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime

import psycopg
from psycopg_pool import ConnectionPool

from db import cancellations, integrations, order_life, orders
from db.orders import AcceptState, ItemRow, OrderRow


def _order_awaiting_acceptance(pool: ConnectionPool) -> tuple[str, str]:
    integration_id, item_id = f"int-{uuid.uuid4().hex[:8]}", "1"
    item = ItemRow("o-1", item_id, "SKU", "TO_CONFIRM", "INCOMING", False, to_accept=True)
    order = OrderRow("o-1", datetime.now(UTC), "new", {"order_id": "o-1", "items": []}, [item])
    with pool.connection() as conn:
        integrations.insert(
            conn, integration_id=integration_id, account_id="acc", application_name="Rakuten",
            seller_id="shop", token_encrypted=b"x", stock_sync_enabled=False, auto_accept_orders=True,
            verify_lease_s=60,
        )
        orders.insert_new_orders(conn, integration_id, "acc", [order])
    return integration_id, item_id


def _begin_while_a_request_is_being_applied(pool: ConnectionPool, integration_id: str) -> AcceptState | None:
    """The request takes the order's and the item's locks; an acceptance tries to start meanwhile."""
    began: list[AcceptState | None] = []
    with pool.connection() as request:
        with request.transaction():
            order_life.lock_order(request, integration_id, "o-1")
            cancellations.add(request, integration_id, "req-1", "o-1", ["1"], "sorry")

            def begin() -> None:
                with pool.connection() as conn:
                    began.append(orders.begin_acceptance(conn, integration_id, "1"))

            acceptance = threading.Thread(target=begin)
            acceptance.start()
            acceptance.join(timeout=0.5)
            assert acceptance.is_alive(), "the acceptance must wait for the item's row lock"
        acceptance.join(timeout=10)
    return began[0]


def test_an_acceptance_starting_while_a_refusal_is_asked_waits_for_it_and_does_not_start(
    db_pool: ConnectionPool,
) -> None:
    integration_id, item_id = _order_awaiting_acceptance(db_pool)

    assert _begin_while_a_request_is_being_applied(db_pool, integration_id) is None

    with db_pool.connection() as conn:
        state = orders.get_accept_state(conn, integration_id, item_id)
        started = conn.execute(
            "SELECT accept_started_at FROM order_items WHERE integration_id = %s", (integration_id,)
        ).fetchone()
    assert state is not None and state.accept_state == "none"
    assert started == (None,)


def test_an_acceptance_started_first_is_seen_by_the_refusal_as_under_way(db_pool: ConnectionPool) -> None:
    integration_id, item_id = _order_awaiting_acceptance(db_pool)
    with db_pool.connection() as conn:
        assert orders.begin_acceptance(conn, integration_id, item_id) is not None
        cancellations.add(conn, integration_id, "req-1", "o-1", [item_id], "sorry")
    key = cancellations.StepKey(integration_id, "req-1", item_id)

    with db_pool.connection() as conn:
        assert cancellations.acceptance_under_way(conn, key, within_s=30)
        orders.set_accept_state(conn, integration_id, item_id, state="accepted", attempted=True)
        assert not cancellations.acceptance_under_way(conn, key, within_s=30)
        assert orders.begin_acceptance(conn, integration_id, item_id) is None


def test_no_acceptance_starts_once_the_cancellation_was_asked(db_pool: ConnectionPool) -> None:
    integration_id, item_id = _order_awaiting_acceptance(db_pool)
    with psycopg.connect(db_pool.conninfo, autocommit=True) as conn:
        cancellations.add(conn, integration_id, "req-1", "o-1", [item_id], "sorry")
        conn.execute("UPDATE order_items SET accept_state = 'pending' WHERE integration_id = %s",
                     (integration_id,))  # an acceptance retried by the sweep afterwards
        assert orders.begin_acceptance(conn, integration_id, item_id) is None
