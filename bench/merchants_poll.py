"""The rows one order poll writes when Rakuten shows nothing new.

One integration, S sales awaiting acceptance in the sandbox: a first poll (the
real `import_orders`, relayed) imports them; a second poll sees the same list.
The rows the second one inserts, updates and deletes per table are read from
`pg_stat_user_tables`. PostgreSQL counts a backend's writes when it reports its
statistics, at the latest when it exits, so each poll runs with a pool of its
own that is closed before the counters are read.
"""

from __future__ import annotations

import time
from typing import Any

import psycopg

from bench.env import Services, add_verified_integration, bench_settings
from bench.orders import TOKEN, seed_sales
from bench.worker import connector
from connectors.rakuten.sandbox import Sandbox
from db import leases
from workers import orders
from workers.claims import claim_now

LOGIN = "bench-poll"
INTEGRATION = "int-bench-poll"
SETTLE_TIMEOUT_S = 30.0  #: seconds for the counters of closed connections to show
WRITES = """
SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables ORDER BY relname
"""


def _writes(database_url: str) -> dict[str, tuple[int, int, int]]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        return {row[0]: (int(row[1]), int(row[2]), int(row[3])) for row in conn.execute(WRITES)}


def _settled(database_url: str) -> dict[str, tuple[int, int, int]]:
    """The counters once two reads a moment apart agree (closed backends have reported)."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    previous = _writes(database_url)
    while True:
        time.sleep(0.5)
        current = _writes(database_url)
        if current == previous or time.monotonic() > deadline:
            return current
        previous = current


def _poll(settings: Any, sandbox_url: str, *, first: bool) -> int | None:
    with connector(settings, sandbox_url) as (ctx, dispatch):
        if first:
            with ctx.pool.connection() as conn:
                add_verified_integration(conn, ctx.cipher, integration_id=INTEGRATION, account_id="acct-poll",
                                         login=LOGIN, token=TOKEN, stock_sync=False)
        imported = orders.import_orders(ctx, INTEGRATION, claim_now(ctx, leases.ORDERS, [INTEGRATION]))
        dispatch.wait_idle(300.0)
    return imported


def rows_per_unchanged_poll(services: Services, sandbox: Sandbox, sales: int) -> dict[str, tuple[int, ...]]:
    """(inserted, updated, deleted) per table by a poll that finds only known orders."""
    seed_sales(sandbox, LOGIN, sales)
    with services.vhost() as amqp_url, services.database() as db_url:
        settings = bench_settings(db_url, amqp_url, sandbox.url)
        if _poll(settings, sandbox.url, first=True) != sales:
            raise RuntimeError("the first poll did not import every sale")
        before = _settled(db_url)
        if _poll(settings, sandbox.url, first=False) != 0:
            raise RuntimeError("the second poll imported orders")
        after = _settled(db_url)
    return {
        table: delta
        for table, counts in after.items()
        if any(delta := tuple(a - b for a, b in zip(counts, before.get(table, (0, 0, 0)), strict=True)))
    }
