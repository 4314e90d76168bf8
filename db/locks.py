"""Advisory locks: one worker at a time per (kind of work, integration)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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
            if acquired and not conn.closed:
                conn.execute(UNLOCK, {"key": key})
                conn.commit()
