"""Errors of the database layer, and what PostgreSQL's own errors mean for a retry.

DatabaseError
 └── MigrationError

`retryable` classifies a failure by what it is: PostgreSQL's SQLSTATE, not the
Python class psycopg happened to map it to (`ProgramLimitExceeded`, an index row
too large for good, is an `OperationalError` like a dropped connection).
"""

from __future__ import annotations

import psycopg
from psycopg_pool import PoolTimeout

#: SQLSTATE classes worth retrying as is: connection exception, transaction rollback
#: (serialization failure, deadlock), insufficient resources, operator intervention
#: (admin shutdown, crash shutdown, cannot connect now, query cancelled)
RETRYABLE_CLASSES = frozenset({"08", "40", "53", "57"})
#: single SQLSTATEs worth retrying: read-only transaction (a standby promoted after a
#: failover is not there yet), lock not available (lock_timeout)
RETRYABLE_STATES = frozenset({"25006", "55P03"})


class DatabaseError(Exception):
    """Raised when the database layer cannot do what it was asked."""


class MigrationError(DatabaseError):
    """Raised when a migration file cannot be applied."""


def retryable(exc: BaseException) -> bool:
    """Whether `exc` may succeed when tried again unchanged (the database is down or busy).

    A server error is judged by its SQLSTATE: the classes above retry; data
    exceptions (22), integrity violations (23), program limits (54), syntax or
    access errors (42) and any other state never do, since nothing says time
    cures them (the event waits in the dead letters for a replay instead). An error without a
    SQLSTATE was raised on our side: a lost or closed connection
    (`OperationalError`, `InterfaceError`) or a pool that could not hand out
    one retries; a value psycopg refuses to send (a NUL character) does not.
    """
    if isinstance(exc, PoolTimeout):
        return True
    if not isinstance(exc, psycopg.Error):
        return False
    state = exc.sqlstate
    if state is None:
        return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)
    return state[:2] in RETRYABLE_CLASSES or state in RETRYABLE_STATES


def describe(exc: BaseException) -> str:
    """Name a failure for logs and dead-letter reasons: its class and SQLSTATE, never its text.

    PostgreSQL's messages quote the values they refuse, which may be personal
    data or a secret.
    """
    state = exc.sqlstate if isinstance(exc, psycopg.Error) else None
    return f"{type(exc).__name__} (SQLSTATE {state})" if state else type(exc).__name__
