"""Figure 3: importing N sales from the sandbox (stored and published) vs a raw fetch-parse-COPY.

The sandbox holds N new sales for one seller (seeded once). Each repetition,
in alternating order, on a fresh database:

- import: the real `import_orders` use case (getnewsales and the getcurrentsales
  pages, mapping, one transaction per chunk with the outbox rows) with a
  thread-pool dispatcher that runs the outbox relay as the import asks for it,
  until every `order.imported` is confirmed by the broker and marked sent;
- baseline: the same HTTP calls and the connector's parse (the client's
  `get_new_sales` / `get_current_sales`), the same rows (`order_row`: the order
  with the JSON it is published with, its items), then one COPY of the order
  rows and one of the item rows into scratch tables, committed.

The gap between the two is the price of the guarantees: orders inserted only
once (conflict checks, keys, foreign keys), the `order.imported` event written
with each order in one transaction, published with confirms and marked sent.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from bench import amqp
from bench.dispatch import PoolDispatcher
from bench.env import Services, add_verified_integration, bench_settings
from bench.stats import Figure, alternate, median, paired_ratio
from bench.worker import connector
from connectors.rakuten import Credentials, RakutenClient, Sale
from connectors.rakuten.sandbox import Sandbox
from db import leases
from events import outbound
from workers import orders
from workers.claims import claim_now
from workers.context import Context
from workers.order_mapping import order_row

log = logging.getLogger(__name__)

QUEUE = "bench.orders"
TOKEN = "bench-token"
TIMEOUT_S = 300.0  #: seconds one import may take
#: scratch tables with the columns (and defaults) of the real ones, without keys or indexes
SCRATCH = """
CREATE TABLE scratch_orders (LIKE orders INCLUDING DEFAULTS);
CREATE TABLE scratch_items (LIKE order_items INCLUDING DEFAULTS)
"""
COPY_ORDERS = """
COPY scratch_orders (integration_id, order_id, account_id, ordered_at, status, data) FROM STDIN
"""
COPY_ITEMS = """
COPY scratch_items (integration_id, item_id, order_id, sku, status, payment_status, is_nego) FROM STDIN
"""


@dataclass(frozen=True)
class OrdersParams:
    """The size of figure 3."""

    sales: int
    reps: int


def seed_sales(sandbox: Sandbox, login: str, count: int) -> None:
    """Add a seller with `count` sales awaiting acceptance; one in three has two items."""
    sandbox.add_seller(login, TOKEN)
    sandbox.add_sales(login, [
        {"items": [{"sku": f"SKU-{n % 5000:06d}", "price": "12.50"} for _ in range(1 + (n % 3 == 0))],
         "layout": "relay" if n % 10 == 0 else "delivery"}
        for n in range(count)
    ])


def import_all(ctx: Context, dispatch: PoolDispatcher, integration_id: str, count: int) -> float:
    """Import the integration's orders until all are stored and published; return the seconds."""
    started = time.perf_counter()
    imported = orders.import_orders(ctx, integration_id, claim_now(ctx, leases.ORDERS, [integration_id]))
    dispatch.wait_idle(TIMEOUT_S)
    seconds = time.perf_counter() - started
    with ctx.pool.connection() as conn:
        row = conn.execute("SELECT count(*) FILTER (WHERE sent_at IS NULL), count(*) FROM outbox").fetchone()
    if imported != count or row is None or tuple(row) != (0, count) or dispatch.errors:
        raise RuntimeError(f"import: {imported} new, outbox (unsent, all) {row}, errors {dispatch.errors}")
    return seconds


def raw_import(database_url: str, sandbox_url: str, login: str, count: int) -> float:
    """Fetch and parse the same sales, COPY their rows into scratch tables; return the seconds."""
    with psycopg.connect(database_url) as conn, RakutenClient(base_url=sandbox_url, timeout=60.0) as client:
        conn.execute(SCRATCH.encode())
        conn.commit()
        started = time.perf_counter()
        creds = Credentials(login, TOKEN)
        since = (datetime.now(UTC) - timedelta(days=7)).date()
        sales = client.get_new_sales(creds).read().sales
        sales += client.get_current_sales(creds, since=since).read().sales
        _copy_rows(conn, "int-raw", sales)
        conn.commit()
        seconds = time.perf_counter() - started
    if len(sales) != count:
        raise RuntimeError(f"raw import read {len(sales)} of {count} sales")
    return seconds


def _copy_rows(conn: psycopg.Connection[Any], integration_id: str, sales: list[Sale]) -> None:
    """COPY the rows `import_orders` stores (the order with its JSON, its items), nothing else."""
    rows = [order_row(sale, auto_accept=False) for sale in sales]
    with conn.cursor() as cur:
        with cur.copy(COPY_ORDERS) as copy:
            for r in rows:
                copy.write_row((integration_id, r.order_id, "acct-raw", r.ordered_at, r.status,
                                Jsonb(r.data)))
        with cur.copy(COPY_ITEMS) as copy:
            for r in rows:
                for i in r.items:
                    copy.write_row((integration_id, i.item_id, i.order_id, i.sku, i.status,
                                    i.payment_status, i.is_nego))


def measure_import(services: Services, amqp_url: str, sandbox: Sandbox, login: str, count: int) -> float:
    """One import on a fresh database; return the seconds."""
    with services.database() as db_url:
        settings = bench_settings(db_url, amqp_url, sandbox.url)
        with connector(settings, sandbox.url) as (ctx, dispatch):
            with ctx.pool.connection() as conn:
                add_verified_integration(conn, ctx.cipher, integration_id=f"int-{login}",
                                         account_id=f"acct-{login}", login=login, token=TOKEN,
                                         stock_sync=False)
            return import_all(ctx, dispatch, f"int-{login}", count)


def run(services: Services, sandbox: Sandbox, params: OrdersParams) -> Figure:
    """Measure figure 3 and return it (times: lower is better)."""
    n, login = params.sales, "bench-orders"
    seed_sales(sandbox, login, n)
    with services.vhost() as amqp_url:
        settings = bench_settings(services.admin_url, amqp_url, sandbox.url)
        amqp.declare_bound_queue(amqp_url, settings.broker.events_exchange, QUEUE, outbound.ORDER_IMPORTED)

        def real() -> float:
            seconds = measure_import(services, amqp_url, sandbox, login, n)
            amqp.wait_for_depth(amqp_url, QUEUE, n)
            amqp.purge(amqp_url, QUEUE)
            return seconds

        def raw() -> float:
            with services.database() as db_url:
                return raw_import(db_url, sandbox.url, login, n)

        times, raw_times = alternate(params.reps, real, raw)
    log.info("import %s s, raw %s s", [round(t, 2) for t in times], [round(t, 2) for t in raw_times])
    return Figure(
        key="orders_time_ratio", title="3. Order import: fetched, parsed, stored, published",
        value=median(times), baseline=median(raw_times), ratio=paired_ratio(times, raw_times),
        unit="s", baseline_label="same fetches + parse + rows, COPY", target=2.0,
        higher_is_better=False, notes=f"{n} sales ({n * 4 // 3} items), {params.reps} reps",
        extra={"import_s": times, "raw_s": raw_times},
    )
