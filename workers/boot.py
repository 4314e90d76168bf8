"""Opening the process's resources at boot, with errors that say what to do."""

from __future__ import annotations

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from db.migrate import migrate
from db.pool import open_pool
from workers.redaction import redact
from workers.settings import Settings

SERVICES_HINT = (
    "start the local services with scripts/services.sh (or docker compose up -d postgres rabbitmq)"
)


class BootError(Exception):
    """Raised when a service the process needs does not answer at start."""


def connect(settings: Settings, *, autocommit: bool = False) -> psycopg.Connection[tuple[object, ...]]:
    """Open one connection to DATABASE_URL, or raise `BootError` saying how to start PostgreSQL."""
    url = str(settings.database.database_url)
    try:
        return psycopg.connect(url, connect_timeout=10, autocommit=autocommit)
    except psycopg.OperationalError as exc:
        raise _unreachable(url, exc) from None


def _unreachable(url: str, exc: psycopg.OperationalError) -> BootError:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return BootError(f"cannot reach DATABASE_URL ({redact(url)}): {reason}; {SERVICES_HINT}")


def run_migrations(settings: Settings) -> list[str]:
    """Apply pending migrations to DATABASE_URL; return the versions applied."""
    with connect(settings) as conn:
        try:
            return migrate(conn)
        except psycopg.OperationalError as exc:  # the server went away mid-way
            raise _unreachable(str(settings.database.database_url), exc) from None


def open_database(settings: Settings, *, max_size: int = 8, name: str = "rakuten") -> ConnectionPool:
    """Open the connection pool on DATABASE_URL, or raise `BootError`."""
    url = str(settings.database.database_url)
    try:
        return open_pool(url, max_size=max_size, name=name)
    except PoolTimeout:
        raise BootError(f"cannot reach DATABASE_URL ({redact(url)}); {SERVICES_HINT}") from None
