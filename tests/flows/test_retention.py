"""Pruning: rows past their retention go, in small batches, without waiting on locks."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from db import integrations
from workers.retention import Pruner
from workers.settings import RetentionSettings

OLD, NEW = "now() - interval '2 hours'", "now() - interval '1 minute'"  # against a 1-hour retention
HOUR = 3600.0
RETAIN = RetentionSettings(inbox_retention_s=HOUR, outbox_retention_s=HOUR, erase_deleted_after_s=HOUR,
                           stock_import_retention_s=HOUR, order_change_retention_s=HOUR)


@pytest.fixture
def conn(fresh_database: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(fresh_database, autocommit=True) as connection:
        yield connection


def _integration(conn: psycopg.Connection[Any]) -> str:
    integration_id = f"int-{uuid.uuid4().hex[:8]}"
    integrations.insert(conn, integration_id=integration_id, account_id="acc", application_name="Rakuten",
                        seller_id="Shop", token_encrypted=b"x", stock_sync_enabled=True,
                        auto_accept_orders=False, verify_lease_s=60)
    return integration_id


def _seed(conn: psycopg.Connection[Any], age: str, tag: str, count: int) -> str:
    """`count` rows of every prunable kind, `age` old, tagged with `tag`."""
    integration_id = _integration(conn)
    for n in range(count):
        conn.execute(f"INSERT INTO inbox (event_id, event_type, processed_at) "
                     f"VALUES (%s, 'stock.changed', {age})", (f"{tag}-{n}",))
        conn.execute(f"INSERT INTO outbox (event_id, event_type, body, created_at, sent_at) "
                     f"VALUES (%s, 'order.imported', '{{}}', {age}, {age})", (f"{tag}-sent-{n}",))
        conn.execute(f"INSERT INTO order_changes (integration_id, order_id, item_id, kind, new_status, "
                     f"detected_at) VALUES (%s, %s, %s, 'item_added', 'NEW', {age})",
                     (integration_id, tag, str(n)))
    conn.execute(f"INSERT INTO outbox (event_id, event_type, body, created_at) "
                 f"VALUES (%s, 'order.imported', '{{}}', {age})", (f"{tag}-unsent",))
    for status in ("done", "pending"):
        pk = conn.execute(
            f"INSERT INTO stock_imports (integration_id, rakuten_import_id, kind, status, sku_count, "
            f"uploaded_at, finished_at) VALUES (%s, %s, 'changes', %s, %s, {age}, "
            f"CASE WHEN %s = 'done' THEN {age} END) RETURNING id",
            (integration_id, f"{tag}-{status}", status, count, status)).fetchone()
        assert pk is not None
        conn.execute("INSERT INTO stock_import_lines (import_pk, sku, quantity) "
                     "SELECT %s, 'SKU-' || n, n FROM generate_series(1, %s) n", (pk[0], count))
    return integration_id


def _one(conn: psycopg.Connection[Any], query: str, *args: Any) -> int:
    row = conn.execute(query, args).fetchone()
    assert row is not None
    return int(row[0])


LINES_OF = "SELECT count(*) FROM stock_import_lines l JOIN stock_imports m ON m.id = l.import_pk " \
           "WHERE m.rakuten_import_id = %s"


OUTBOX_OF = "SELECT count(*) FROM outbox WHERE event_id LIKE %s"


def _counts(conn: psycopg.Connection[Any], tag: str) -> dict[str, int]:
    like = f"{tag}-%"
    return {
        "inbox": _one(conn, "SELECT count(*) FROM inbox WHERE event_id LIKE %s", like),
        "outbox sent": _one(conn, OUTBOX_OF + " AND sent_at IS NOT NULL", like),
        "outbox unsent": _one(conn, OUTBOX_OF + " AND sent_at IS NULL", like),
        "order_changes": _one(conn, "SELECT count(*) FROM order_changes WHERE order_id = %s", tag),
        "finished imports": _one(conn, "SELECT count(*) FROM stock_imports WHERE rakuten_import_id = %s",
                                 f"{tag}-done"),
        "finished lines": _one(conn, LINES_OF, f"{tag}-done"),
        "pending lines": _one(conn, LINES_OF, f"{tag}-pending"),
    }


def _until_done(pruner: Pruner, conn: psycopg.Connection[Any]) -> int:
    for passes in range(1, 200):
        if not pruner.run(conn).more:
            return passes
    raise AssertionError("pruning never finished")


def test_rows_past_their_retention_are_pruned_in_batches_and_the_rest_is_kept(
    conn: psycopg.Connection[Any],
) -> None:
    _seed(conn, OLD, "old", 25)
    _seed(conn, NEW, "new", 25)
    result = Pruner(RETAIN, batch=7).run(conn)
    assert not result.more
    assert +result.deleted == {"inbox": 25, "outbox": 25, "order_changes": 25, "stock_import_lines": 25,
                               "stock_imports": 1}
    assert _counts(conn, "old") == {"inbox": 0, "outbox sent": 0, "outbox unsent": 1, "order_changes": 0,
                                    "finished imports": 0, "finished lines": 0, "pending lines": 25}
    assert _counts(conn, "new") == {"inbox": 25, "outbox sent": 25, "outbox unsent": 1, "order_changes": 25,
                                    "finished imports": 1, "finished lines": 25, "pending lines": 25}


def test_a_pass_stops_at_its_time_budget_and_the_next_passes_finish_the_work(
    conn: psycopg.Connection[Any],
) -> None:
    _seed(conn, OLD, "old", 30)
    pruner = Pruner(RETAIN, batch=10, budget_s=0.0)
    first = pruner.run(conn)
    assert first.more and sum(first.deleted.values()) == 10, "one batch, then the budget is spent"
    assert _until_done(pruner, conn) > 5
    assert _counts(conn, "old")["inbox"] == _counts(conn, "old")["finished lines"] == 0


def test_pruning_skips_rows_another_transaction_holds_instead_of_waiting(
    fresh_database: str, conn: psycopg.Connection[Any],
) -> None:
    _seed(conn, OLD, "old", 20)
    with psycopg.connect(fresh_database) as holder:
        held = holder.execute("SELECT event_id FROM inbox WHERE event_id LIKE 'old-%' "
                              "ORDER BY event_id LIMIT 3 FOR UPDATE").fetchall()
        conn.execute("SET lock_timeout = '2s'")  # waiting would fail the pass instead of hanging
        result = Pruner(RETAIN, batch=5).run(conn)
        assert result.deleted["inbox"] == 17 and _counts(conn, "old")["inbox"] == 3
        holder.rollback()
    assert len(held) == 3
    Pruner(RETAIN, batch=5).run(conn)
    assert _counts(conn, "old")["inbox"] == 0


def test_the_heartbeat_of_a_scheduler_gone_for_a_day_is_pruned(conn: psycopg.Connection[Any]) -> None:
    conn.execute("INSERT INTO scheduler_heartbeats VALUES ('gone', now() - interval '25 hours'), "
                 "('alive', now() - interval '1 minute')")
    Pruner(RETAIN).run(conn)
    assert [row[0] for row in conn.execute("SELECT scheduler_id FROM scheduler_heartbeats")] == ["alive"]


def test_the_pruning_rhythm_follows_the_shortest_retention() -> None:
    assert Pruner(RetentionSettings()).every_s == 60.0
    assert Pruner(RETAIN.model_copy(update={"inbox_retention_s": 10.0})).every_s == 0.5
