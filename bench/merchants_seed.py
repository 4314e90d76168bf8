"""Many merchants at once, written straight into the database with COPY.

`seed` writes N integrations in the states a long-running installation has:
92 % verified (half of them with stock sync), their next order poll and stock
re-send in the future, a few pending, invalid, unavailable or deleted. A fixed
number of them (`DUE`, the same at every N) has work due: a verification, an
order poll, a stock re-send, pending SKUs to flush; `WAITING` more have pending
SKUs and sent a file a moment ago (not due), one of them a whole catalogue. `make_due` puts exactly
that work due again before each measured tick, so every tick does the same
work whatever N is and only the merchants with nothing due vary.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

DUE = 20  #: integrations with each kind of work due, at every size
PENDING_SKUS = 10  #: pending SKUs of each integration whose stock flush is due
#: integrations whose stock changed since their last file, waiting for their push interval
#: (the merchants active in the last few minutes: as many at every size)
WAITING = 200
WAITING_SKUS = 20  #: pending SKUs of each of them
#: pending SKUs of the first waiting integration: a whole catalogue marked for a full re-send
CATALOGUE_SKUS = 20_000
COPY_INTEGRATIONS = """
COPY integrations (integration_id, account_id, seller_id, token_encrypted, stock_sync_enabled, status,
    rakuten_seller_id, verified_at, verify_due_at, orders_due_at, last_orders_poll_at,
    last_stock_file_at, reconcile_due_at, deleted_at) FROM STDIN
"""
COPY_PENDING = "COPY stock_pending (integration_id, sku) FROM STDIN"
JUST_SENT = "UPDATE integrations SET last_stock_file_at = now() WHERE integration_id = ANY(%(ids)s)"
MAKE_DUE = """
UPDATE integrations SET
    verify_due_at = CASE WHEN integration_id = ANY(%(verify)s) THEN now() - interval '1 s'
                         ELSE verify_due_at END,
    orders_due_at = CASE WHEN integration_id = ANY(%(orders)s) THEN now() - interval '1 s'
                         ELSE orders_due_at END,
    reconcile_due_at = CASE WHEN integration_id = ANY(%(reconcile)s) THEN now() - interval '1 s'
                            ELSE reconcile_due_at END,
    stock_lease_until = CASE WHEN integration_id = ANY(%(flush)s) THEN NULL ELSE stock_lease_until END
WHERE integration_id = ANY(%(verify)s::text[] || %(orders)s::text[] || %(reconcile)s::text[]
                           || %(flush)s::text[])
"""


@dataclass(frozen=True)
class Seeded:
    """The ids of the integrations whose work `make_due` makes due."""

    verify: list[str]
    orders: list[str]
    reconcile: list[str]
    flush: list[str]


def integration_id(n: int) -> str:
    """The id of the n-th seeded integration."""
    return f"int-{n:07d}"


def _status(n: int) -> str:
    """92 % verified, 2 % in each other state."""
    others = ("pending", "invalid_credentials", "unavailable", "deleted")
    return others[n % 50] if n % 50 < len(others) else "verified"


def _row(n: int, now: datetime) -> tuple[Any, ...]:
    status = _status(n)
    verified = status == "verified"
    sync = n % 2 == 0
    later = now + timedelta(hours=1, seconds=n % 290)  # not due while the benchmark runs
    return (
        integration_id(n), f"acct-{n:07d}", f"shop-{n}", None if status == "deleted" else b"token" * 20,
        sync, status, "1000001" if verified else None, now - timedelta(days=30) if verified else None,
        now + timedelta(hours=1) if status in ("pending", "unavailable") else None,
        later if verified else None, now - timedelta(seconds=n % 290) if verified else None,
        now - timedelta(hours=1) if verified and sync else None,
        now + timedelta(hours=1 + n % 20) if verified and sync else None,
        now - timedelta(days=1) if status == "deleted" else None,
    )


def _pick(count: int, *, offset: int, where: Any, number: int = DUE, taken: Sequence[str] = ()) -> list[str]:
    """`number` ids spread over the whole id range (not all at its start) that satisfy `where`."""
    found: list[str] = []
    for start in range(offset, count, max(1, count // number)):
        n = next((n for n in range(start, count)
                  if where(n) and integration_id(n) not in found and integration_id(n) not in taken), None)
        if n is not None and len(found) < number:
            found.append(integration_id(n))
    extra = (integration_id(n) for n in range(count)
             if where(n) and integration_id(n) not in found and integration_id(n) not in taken)
    return found + list(itertools.islice(extra, number - len(found)))


def seed(conn: psycopg.Connection[Any], count: int) -> Seeded:
    """Write `count` integrations and the pending SKUs of those whose flush is due; ANALYZE."""
    now = datetime.now(UTC)
    with conn.cursor() as cur, cur.copy(COPY_INTEGRATIONS) as copy:
        for n in range(count):
            copy.write_row(_row(n, now))
    seeded = Seeded(
        verify=_pick(count, offset=0, where=lambda n: _status(n) == "pending"),
        orders=_pick(count, offset=5, where=lambda n: _status(n) == "verified"),
        reconcile=_pick(count, offset=10, where=lambda n: _status(n) == "verified" and n % 2 == 0),
        flush=_pick(count, offset=20, where=lambda n: _status(n) == "verified" and n % 2 == 0),
    )
    waiting = _pick(count, offset=30, where=lambda n: _status(n) == "verified" and n % 2 == 0,
                    number=WAITING, taken=seeded.flush)
    with conn.cursor() as cur, cur.copy(COPY_PENDING) as copy:
        for integration in seeded.flush:
            for sku in range(PENDING_SKUS):
                copy.write_row((integration, f"SKU-{sku:04d}"))
        for position, integration in enumerate(waiting):
            for sku in range(CATALOGUE_SKUS if position == 0 else WAITING_SKUS):
                copy.write_row((integration, f"SKU-{sku:05d}"))
    conn.execute(JUST_SENT, {"ids": waiting})
    conn.commit()
    conn.execute("ANALYZE")
    return seeded


def make_due(conn: psycopg.Connection[Any], seeded: Seeded) -> None:
    """Make the seeded due work due again (what a tick claims), committed."""
    conn.execute(MAKE_DUE, {"verify": seeded.verify, "orders": seeded.orders,
                            "reconcile": seeded.reconcile, "flush": seeded.flush})
    conn.commit()
