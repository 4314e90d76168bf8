"""Forward-only SQL migrations, applied in order and recorded in a table."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import resources

import psycopg

from db.errors import MigrationError

log = logging.getLogger(__name__)

#: Key of the advisory lock that serialises concurrent `migrate` runs.
MIGRATION_LOCK_KEY = 0x5241_4B55  # "RAKU"

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     text PRIMARY KEY,
    applied_at  timestamptz NOT NULL DEFAULT now()
)
"""
LOCK = "SELECT pg_advisory_xact_lock(%(key)s)"
APPLIED = "SELECT version FROM schema_migrations"
RECORD = "INSERT INTO schema_migrations (version) VALUES (%(version)s)"


@dataclass(frozen=True)
class Migration:
    """One migration file: its version (the file name without `.sql`) and its SQL."""

    version: str
    sql: str


def available_migrations() -> list[Migration]:
    """Return the packaged migrations, sorted by version."""
    folder = resources.files("db") / "migrations"
    found = [
        Migration(entry.name.removesuffix(".sql"), entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    ]
    return sorted(found, key=lambda m: m.version)


def migrate(conn: psycopg.Connection[object]) -> list[str]:
    """Apply every migration not yet recorded, in one transaction; return their versions.

    An advisory lock makes concurrent runs wait for each other, so running it
    from two processes at once, or twice, is safe.
    """
    applied_now: list[str] = []
    with conn.transaction():
        conn.execute(LOCK, {"key": MIGRATION_LOCK_KEY})
        conn.execute(CREATE_TABLE)
        done = {row[0] for row in conn.execute(APPLIED).fetchall()}  # type: ignore[index]
        for migration in available_migrations():
            if migration.version in done:
                continue
            log.info("applying migration %r", migration.version)
            try:
                conn.execute(migration.sql.encode())
            except psycopg.Error as exc:
                raise MigrationError(f"migration {migration.version} failed: {exc}") from exc
            conn.execute(RECORD, {"version": migration.version})
            applied_now.append(migration.version)
    return applied_now
