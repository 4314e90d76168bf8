"""Advisory locks: one worker at a time per (kind of work, integration)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

TRY_LOCK = "SELECT pg_try_advisory_lock(hashtextextended(%(key)s, 0))"
UNLOCK = "SELECT pg_advisory_unlock(hashtextextended(%(key)s, 0))"


@contextmanager
def exclusive(pool: ConnectionPool, kind: str, name: str) -> Iterator[bool]:
    """Try to hold the lock `kind:name` for the block; yield whether it was acquired.

    The lock belongs to a database session, not a transaction: it is held while
    the block calls Rakuten without keeping a transaction open, and released by
    PostgreSQL if the process dies.
    """
    key = f"{kind}:{name}"
    with pool.connection() as conn:
        row = conn.execute(TRY_LOCK, {"key": key}).fetchone()
        conn.commit()
        acquired = bool(row and row[0])
        try:
            yield acquired
        finally:
            if acquired:
                _unlock(conn, key)


def _unlock(conn: psycopg.Connection[Any], key: str) -> None:
    """Release the lock; if that fails, end the session, which releases it too.

    A session killed while the block ran (a restart, pg_terminate_backend) took
    its locks with it: failing the block's finished work because the unlock
    cannot run would only get the work done twice. And a session whose unlock
    failed must not go back to the pool still holding the lock.
    """
    if conn.closed:
        return
    try:
        conn.execute(UNLOCK, {"key": key})
        conn.commit()
    except psycopg.Error:
        conn.close()
