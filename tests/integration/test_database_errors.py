"""Real PostgreSQL errors, classified by their SQLSTATE as the ingress and the workers see them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg_pool import PoolTimeout

from workers.handlers import is_transient

Provoke = Callable[[psycopg.Connection[Any]], object]

#: what no retry cures, each provoked for real
PERMANENT: dict[str, Provoke] = {
    # an index row larger than a btree page: the inbox row of a very long event id
    "54000": lambda c: c.execute(
        "INSERT INTO keyed SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 400)"
    ),
    "22012": lambda c: c.execute("SELECT 1 / 0"),
    "22003": lambda c: c.execute("SELECT 2147483647::int + 1"),
    "22P02": lambda c: c.execute("SELECT 'ten'::int"),
    "22P05": lambda c: c.execute("SELECT '\"\\u0000\"'::jsonb::text"),
    "23505": lambda c: c.execute("INSERT INTO keyed VALUES ('same'), ('same')"),
    "23514": lambda c: c.execute("INSERT INTO checked VALUES (-1)"),
    "42601": lambda c: c.execute("SELEC 1"),
    "42P01": lambda c: c.execute("SELECT * FROM no_such_table"),
}
#: what may pass when tried again; those that cannot be provoked on demand are raised
#: by the server with their SQLSTATE, as PostgreSQL itself would send them
TRANSIENT: dict[str, Provoke] = {
    "57014": lambda c: c.execute("SET statement_timeout = 10; SELECT pg_sleep(2)"),
    "25006": lambda c: c.execute("SET TRANSACTION READ ONLY; CREATE TABLE never_made (n int)"),
    "40001": lambda c: c.execute("DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '40001'; END $$"),
    "40P01": lambda c: c.execute("DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '40P01'; END $$"),
    "53300": lambda c: c.execute("DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '53300'; END $$"),
    "57P01": lambda c: c.execute("DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '57P01'; END $$"),
    "08006": lambda c: c.execute("DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '08006'; END $$"),
    "55P03": lambda c: c.execute("SET lock_timeout = 10; SELECT pg_advisory_lock(4242)"),
}


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(database_url) as connection:
        connection.execute("CREATE TEMP TABLE keyed (k text PRIMARY KEY)")
        connection.execute("CREATE TEMP TABLE checked (n int CHECK (n >= 0))")
        connection.commit()
        yield connection


def raised(conn: psycopg.Connection[Any], provoke: Provoke) -> psycopg.Error:
    with pytest.raises(psycopg.Error) as caught:
        provoke(conn)
    conn.rollback()
    return caught.value


@pytest.mark.parametrize("sqlstate", sorted(PERMANENT))
def test_a_refusal_no_retry_cures_is_not_transient_whatever_its_python_class(
    conn: psycopg.Connection[Any], sqlstate: str
) -> None:
    error = raised(conn, PERMANENT[sqlstate])

    assert error.sqlstate == sqlstate
    assert not is_transient(error)


def test_an_index_row_too_large_is_an_operational_error_yet_not_transient(
    conn: psycopg.Connection[Any],
) -> None:
    error = raised(conn, PERMANENT["54000"])

    assert isinstance(error, psycopg.OperationalError)
    assert not is_transient(error)


@pytest.mark.parametrize("sqlstate", sorted(TRANSIENT))
def test_a_failure_of_the_moment_is_transient(conn: psycopg.Connection[Any], sqlstate: str) -> None:
    if sqlstate == "55P03":
        with psycopg.connect(conn.info.dsn, autocommit=True) as holder:
            holder.execute("SELECT pg_advisory_lock(4242)")
            error = raised(conn, TRANSIENT[sqlstate])
    else:
        error = raised(conn, TRANSIENT[sqlstate])

    assert error.sqlstate == sqlstate
    assert is_transient(error)


def test_a_connection_the_server_terminated_is_transient(conn: psycopg.Connection[Any]) -> None:
    pid = conn.info.backend_pid
    with psycopg.connect(conn.info.dsn, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))

    with pytest.raises(psycopg.Error) as caught:
        conn.execute("SELECT 1")

    assert is_transient(caught.value)


def test_values_psycopg_refuses_to_send_and_pool_timeouts_are_classified(
    conn: psycopg.Connection[Any],
) -> None:
    with pytest.raises(psycopg.DataError) as nul:
        conn.execute("SELECT %s::text", ("nul\x00byte",))

    assert nul.value.sqlstate is None
    assert not is_transient(nul.value)
    assert is_transient(PoolTimeout("no connection within 10 s"))
    assert not is_transient(ValueError("not a database error"))
