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


def run_migrations(settings: Settings) -> list[str]:
    """Apply pending migrations to DATABASE_URL; return the versions applied."""
    url = str(settings.database.database_url)
    try:
        with psycopg.connect(url, connect_timeout=10) as conn:
            return migrate(conn)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BootError(f"cannot reach DATABASE_URL ({redact(url)}): {reason}; {SERVICES_HINT}") from None


def open_database(settings: Settings, *, max_size: int = 8, name: str = "rakuten") -> ConnectionPool:
    """Open the connection pool on DATABASE_URL, or raise `BootError`."""
    url = str(settings.database.database_url)
    try:
        return open_pool(url, max_size=max_size, name=name)
    except PoolTimeout:
        raise BootError(f"cannot reach DATABASE_URL ({redact(url)}); {SERVICES_HINT}") from None
