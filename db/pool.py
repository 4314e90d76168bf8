"""The connection pool, opened at process boot and closed at shutdown."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg_pool import ConnectionPool


def open_pool(
    url: str, *, min_size: int = 1, max_size: int = 8, name: str = "rakuten", timeout: float = 10.0
) -> ConnectionPool:
    """Open a pool of connections to `url`, waiting until the first one works.

    Raises `psycopg_pool.PoolTimeout` when PostgreSQL does not answer in `timeout`.
    """

    def check(conn: psycopg.Connection[Any]) -> None:
        # A connection killed by the server (restart, pg_terminate_backend) is
        # detected when taken from the pool instead of failing the caller. One dead
        # connection means the others idle in the pool are dead too: replace them
        # all now. Otherwise the pool hands them out one by one, and its check loop
        # sleeps 1, 2, 4, 8... seconds after each, so a pool of ten dead connections
        # kept callers waiting past the pool timeout after a server restart.
        try:
            ConnectionPool.check_connection(conn)
        except psycopg.Error:
            pool.drain()
            raise

    pool = ConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        name=name,
        open=False,
        check=check,
        kwargs={"application_name": name},
    )
    pool.open(wait=True, timeout=timeout)
    return pool
