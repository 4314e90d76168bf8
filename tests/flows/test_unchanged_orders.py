"""A poll of orders that did not change writes nothing and publishes nothing, at scale.

The counts come from PostgreSQL's own statistics (`pg_stat_user_tables`), which a
backend reports when its connection closes: each World's pool is closed before
the counts are read, and the poll's own due time (one update of `integrations` per
poll) shows that the statistics of the polls did arrive.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
from cryptography.fernet import Fernet

from connectors.rakuten.sandbox import Sandbox
from tests.flows.harness import world
from tests.flows.orders_world import poll, verified_shop
from tests.waiting import wait_until

ORDERS = 10_000
AWAITING = 1_000  #: of them in getnewsales; the others accepted, in getcurrentsales' pages
POLLS = 10
WRITES = """
SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables WHERE schemaname = 'public'
"""


# 110,000 sales read and compared: minutes on a loaded machine
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


def _writes(database_url: str) -> dict[str, int]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        return {name: int(count) for name, count in conn.execute(WRITES)}


def _sales(count: int, *, status: str, start: int, days_ago: int = 0) -> list[dict[str, object]]:
    """Two-item sales; with `days_ago`, bought over that many past days (claims come weeks later)."""
    now = datetime.now(ZoneInfo("Europe/Paris"))
    return [
        {"purchase_id": str(n),
         "purchased_at": (now - timedelta(days=n % (days_ago + 1))).strftime("%d/%m/%Y-%H:%M"),
         "items": [{"item_id": f"{n}-1", "sku": "A", "status": status},
                   {"item_id": f"{n}-2", "sku": "B", "status": status}]}
        for n in range(start, start + count)
    ]


def test_ten_thousand_unchanged_orders_polled_ten_times_write_no_row_and_publish_nothing(
    fresh_database: str, sandbox: Sandbox
) -> None:
    sandbox.configure(sales_page_size=1000)
    key = Fernet.generate_key().decode()  # one key for both Worlds: the stored token stays readable
    with world(fresh_database, sandbox, token_encryption_key=key) as w:
        shop = verified_shop(w, sandbox)
        sandbox.add_sales(shop.login, _sales(AWAITING, status="TO_CONFIRM", start=100_000))
        accepted = _sales(ORDERS - AWAITING, status="ACCEPTED", start=200_000, days_ago=40)
        sandbox.add_sales(shop.login, accepted)
        poll(w, shop)
        assert w.scalar("SELECT count(*) FROM orders") == ORDERS
        assert len(w.outbox("order.imported")) == ORDERS
    before = _writes(fresh_database)
    pages = len(sandbox.requests(login=shop.login, action="getcurrentsales"))

    with world(fresh_database, sandbox, token_encryption_key=key) as w:
        for _ in range(POLLS):
            poll(w, shop)
        relayed = [task for task, _ in w.dispatch.sent if task == "relay_outbox"]

    def arrived() -> dict[str, int] | None:
        found = _writes(fresh_database)
        return found if found["integrations"] >= before["integrations"] + POLLS else None

    after = wait_until(arrived, "the statistics of the polls", timeout=15)
    written = {name: after[name] - before.get(name, 0) for name in after if name != "integrations"}
    assert {name: n for name, n in written.items() if n} == {}
    assert relayed == []
    # every poll read every page of getcurrentsales
    assert len(sandbox.requests(login=shop.login, action="getcurrentsales")) - pages == POLLS * 9
