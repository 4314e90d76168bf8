"""The schema migrations against the real PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from db.migrate import available_migrations, migrate
from tests.fixtures.services import ServiceUrls, with_database


@pytest.fixture
def empty_database(service_urls: ServiceUrls) -> Iterator[str]:
    name = f"rakuten_mig_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(service_urls.database, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield with_database(service_urls.database, name)
    with psycopg.connect(service_urls.database, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchall()
    return {r[0] for r in rows}


def test_migrate_creates_every_table_the_flows_need(empty_database: str) -> None:
    with psycopg.connect(empty_database) as conn:
        applied = migrate(conn)
    assert applied == [m.version for m in available_migrations()]
    assert {
        "integrations",
        "stock_levels",
        "stock_pending",
        "stock_imports",
        "stock_import_lines",
        "orders",
        "order_items",
        "order_changes",
        "inbox",
        "outbox",
        "schema_migrations",
    } <= _tables(empty_database)


def test_migrate_twice_applies_nothing_the_second_time(empty_database: str) -> None:
    with psycopg.connect(empty_database) as conn:
        assert migrate(conn)
    with psycopg.connect(empty_database) as conn:
        assert migrate(conn) == []
        count = conn.execute("SELECT count(*) FROM schema_migrations").fetchone()
    assert count is not None and count[0] == len(available_migrations())


def test_concurrent_migrations_apply_each_version_once(empty_database: str) -> None:
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with psycopg.connect(empty_database) as conn:
                results.append(migrate(conn))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sorted(len(r) for r in results) == [0, 0, 0, len(available_migrations())]


def test_orders_are_unique_per_integration_and_purchase_id(db_pool: object) -> None:
    from psycopg_pool import ConnectionPool

    assert isinstance(db_pool, ConnectionPool)
    integration = f"int-{uuid.uuid4().hex[:8]}"
    with db_pool.connection() as conn:
        conn.execute(
            "INSERT INTO integrations (integration_id, account_id, seller_id) VALUES (%s, 'acc', 'shop')",
            (integration,),
        )
        insert = (
            "INSERT INTO orders (integration_id, order_id, account_id, ordered_at, status, data) "
            "VALUES (%s, '42', 'acc', now(), 'new', '{}')"
        )
        conn.execute(insert, (integration,))
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(insert, (integration,))
