"""Fenced leases on claimed work: start, extend and check a claim by its token.

A claim (`db.schedule`) raises the row's lease token by one, counts the claim and
moves the row's due time to the end of the lease; the message sent for the work
carries the token. The worker then, each in a short transaction:

- `start`s the work: only the current token of a claim not yet started succeeds,
  so of fifty copies of one message one starts, and a message sent again after
  its lease ended finds a newer token and does nothing;
- `extend`s the lease while it works (the due time moves on, the token stays);
- `holds` the row (locked for the transaction) before recording the outcome, or
  puts `AND <token column> = %(token)s` in the statement that records it.

A stale token does nothing: no Rakuten call, no attempt counted. Nothing relies on
a database session outliving a call to Rakuten.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql


@dataclass(frozen=True)
class Work:
    """Where the lease of one kind of work lives: its table, key and columns."""

    name: str
    table: str
    keys: tuple[str, ...]
    token: str  #: the fencing token, raised at each claim
    due: str  #: the due time; the lease's end while the work is claimed
    claims: str  #: claims sent since a worker last started the work

    def where(self) -> sql.Composable:
        """The condition naming one row by its keys and its current token (`%(token)s`)."""
        keys = [sql.SQL("{} = {}").format(sql.Identifier(k), sql.Placeholder(k)) for k in self.keys]
        token = sql.SQL("{} = %(token)s").format(sql.Identifier(self.token))
        return sql.SQL(" AND ").join([*keys, token])

    def params(self, key: Sequence[object], token: int, **extra: object) -> dict[str, object]:
        """Query parameters naming one row of this work and a token."""
        if len(key) != len(self.keys):
            raise ValueError(f"{self.name} is keyed by {self.keys}, got {len(key)} value(s)")
        return {**dict(zip(self.keys, key, strict=True)), "token": token, **extra}


VERIFY = Work("verify", "integrations", ("integration_id",), "verify_lease_token", "verify_due_at",
              "verify_claims")
ORDERS = Work("orders", "integrations", ("integration_id",), "orders_lease_token", "orders_due_at",
              "orders_claims")
STOCK = Work("stock", "integrations", ("integration_id",), "stock_lease_token", "stock_lease_until",
             "stock_claims")
REPORT = Work("report", "stock_imports", ("id",), "lease_token", "report_due_at", "claims")
ACCEPT = Work("accept", "order_items", ("integration_id", "item_id"), "accept_lease_token", "accept_due_at",
              "accept_claims")
CANCEL = Work("cancel", "order_cancellations", ("integration_id", "request_id", "item_id"), "lease_token",
              "due_at", "claims")
TODO = Work("todo", "integrations", ("integration_id",), "todo_lease_token", "todo_due_at", "todo_claims")

START = """UPDATE {table} SET {due} = now() + make_interval(secs => %(lease_s)s), {claims} = 0
WHERE {where} AND {claims} > 0"""
EXTEND = "UPDATE {table} SET {due} = now() + make_interval(secs => %(lease_s)s) WHERE {where}"
HOLDS = "SELECT 1 FROM {table} WHERE {where} FOR UPDATE"
CLAIM = """UPDATE {table} SET {token} = {token} + 1, {claims} = 1,
    {due} = now() + make_interval(secs => %(lease_s)s)
WHERE {keys} RETURNING {token}"""


def _run(conn: psycopg.Connection[Any], template: str, work: Work, params: dict[str, object]) -> int:
    query = sql.SQL(template).format(
        table=sql.Identifier(work.table),
        due=sql.Identifier(work.due),
        claims=sql.Identifier(work.claims),
        where=work.where(),
    )
    return conn.execute(query, params).rowcount


def claim(conn: psycopg.Connection[Any], work: Work, key: Sequence[object], *, lease_s: float) -> int | None:
    """Claim one row's work now, whatever its due time; return the token (None: no such row).

    For those who run the work themselves instead of waiting for the scheduler
    (benchmarks, the demo, tests): any message sent earlier becomes stale.
    """
    keys = [sql.SQL("{} = {}").format(sql.Identifier(k), sql.Placeholder(k)) for k in work.keys]
    query = sql.SQL(CLAIM).format(
        table=sql.Identifier(work.table),
        token=sql.Identifier(work.token),
        claims=sql.Identifier(work.claims),
        due=sql.Identifier(work.due),
        keys=sql.SQL(" AND ").join(keys),
    )
    row = conn.execute(query, {**dict(zip(work.keys, key, strict=True)), "lease_s": lease_s}).fetchone()
    return int(row[0]) if row else None


def start(
    conn: psycopg.Connection[Any], work: Work, key: Sequence[object], token: int, *, lease_s: float
) -> bool:
    """Start claimed work: whether `token` is current and no copy of its message started it.

    The lease is renewed for `lease_s` from now. Commit before calling Rakuten.
    """
    return _run(conn, START, work, work.params(key, token, lease_s=lease_s)) == 1


def extend(
    conn: psycopg.Connection[Any], work: Work, key: Sequence[object], token: int, *, lease_s: float
) -> bool:
    """Renew a started lease for `lease_s` from now; False when the claim is no longer ours."""
    return _run(conn, EXTEND, work, work.params(key, token, lease_s=lease_s)) == 1


def holds(conn: psycopg.Connection[Any], work: Work, key: Sequence[object], token: int) -> bool:
    """Whether `token` is still current; the row stays locked until the transaction ends."""
    return _run(conn, HOLDS, work, work.params(key, token)) == 1
