"""The connection pool, opened at process boot and closed at shutdown."""

from __future__ import annotations

from psycopg_pool import ConnectionPool


def open_pool(
    url: str, *, min_size: int = 1, max_size: int = 8, name: str = "rakuten", timeout: float = 10.0
) -> ConnectionPool:
    """Open a pool of connections to `url`, waiting until the first one works.

    Raises `psycopg_pool.PoolTimeout` when PostgreSQL does not answer in `timeout`.
    """
    pool = ConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        name=name,
        open=False,
        # a connection killed by the server (restart, pg_terminate_backend) is
        # detected when taken from the pool instead of failing the caller
        check=ConnectionPool.check_connection,
        kwargs={"application_name": name},
    )
    pool.open(wait=True, timeout=timeout)
    return pool
