"""SIGKILL of `run`'s parts at random moments: no order lost or duplicated, no stale stock.

`run` is a subprocess on a database and a vhost of its own, against the sandbox.
Sales arrive at Rakuten and stock changes on the exchange while the worker (and
the ingress, and the scheduler) are killed with SIGKILL, some of the kills timed to
land while the worker waits for Rakuten's answer to getnewsales or to a stock file
upload; `run` restarts each. Afterwards every sale is one order in the database and
one `order.imported` id on the exchange, and Rakuten holds the newest quantities.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.rakuten.sandbox import Sandbox
from tests.e2e.reliability_helpers import (
    System,
    Workload,
    assert_secrets_kept,
    kill_during_call,
    kill_part,
    started_system,
    wait_replaced,
)
from tests.fixtures.services import ServiceUrls, VhostFactory

pytestmark = pytest.mark.slow

SALES = 200  #: sales imported by the shop whose import is interrupted
ROUNDS = 4  #: rounds of random kills after the two timed ones


@pytest.fixture
def system(service_urls: ServiceUrls, vhosts: VhostFactory, sandbox: Sandbox, tmp_path: Path
           ) -> Iterator[System]:
    with started_system(service_urls, vhosts, sandbox, tmp_path) as built:
        yield built


def test_sigkill_during_order_import_and_stock_flushes_loses_and_duplicates_nothing(system: System) -> None:
    load = Workload(system, shops=2, skus=12, seed=1)
    importing, other = load.shops
    rng = random.Random(2)
    started = time.monotonic()
    load.install()
    load.wait_verified()
    batch = SALES // (ROUNDS + 1)

    # timed: the worker dies waiting for getnewsales, then in the middle of a stock upload
    load.add_sales(batch, importing)
    load.change_stock(20)
    kill_during_call(system.running, system.sandbox, importing.seller.login, "getnewsales")
    load.change_stock(20)
    kill_during_call(system.running, system.sandbox, other.seller.login, "genericimportfile")
    # at random moments: sales and stock changes keep coming while a part is killed
    for victim in ["ingress", "worker", "scheduler", "worker"][:ROUNDS]:
        load.add_sales(batch, importing)
        load.add_sales(5, other)
        load.change_stock(15)
        time.sleep(rng.uniform(0.05, 0.6))  # let the import and the flushes run into the kill
        old = kill_part(system.running, victim)
        load.change_stock(10)
        wait_replaced(system.running, victim, old)

    load.wait_settled()
    assert len(load.orders_in_database()[importing.integration_id]) == SALES
    assert len(system.tap.distinct_ids("order.imported", importing.integration_id)) == SALES
    assert system.query("SELECT count(*) FROM orders")[0][0] == SALES + ROUNDS * 5
    # quota: at most one stock file per push interval (1 s) per seller, whatever the kills
    elapsed = time.monotonic() - started
    for shop in load.shops:
        assert len(system.sandbox.files(shop.seller.login)) <= elapsed / 1.0 + 1
    assert_secrets_kept(system, load.tokens)
