"""Fenced claims: duplicate, late or piled-up messages never repeat a Rakuten call.

The flows run against the real PostgreSQL and the sandbox over HTTP; "the worker
pool" is the test running the queued messages, the scheduler ticks when the test says.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest

from connectors.rakuten.sandbox import Sandbox
from tests.fixtures.services import ServiceUrls
from tests.flows.harness import World, event, install, world
from tests.waiting import wait_until
from workers import scheduler
from workers.tasks import TASKS

LEASE_S = 0.25  #: the claims' lease in these tests


@pytest.fixture
def wl(fresh_database: str, sandbox: Sandbox) -> Iterator[World]:
    """A World whose claims last LEASE_S seconds (orders polled hourly)."""
    with world(fresh_database, sandbox, work_lease_s=LEASE_S) as built:
        yield built


def verified(w: World, sandbox: Sandbox, **extra: Any) -> tuple[str, str, str]:
    suffix = uuid.uuid4().hex[:8]
    integration, account, login, token = f"int-{suffix}", f"acc-{suffix}", f"Shop{suffix}", f"tok-{suffix}"
    sandbox.add_seller(login, token)
    w.apply(install(integration, account, login, token, **extra))
    w.drive_until(lambda: w.outbox("integration.verified", integration))
    return integration, account, login


def calls(sandbox: Sandbox, login: str, action: str) -> int:
    return len(sandbox.requests(login=login, action=action))


def queued(w: World, name: str) -> list[tuple[Any, ...]]:
    """Take the queued messages of task `name` out of the queue, leaving the others."""
    taken = [args for task, args in w.dispatch.tasks if task == name]
    kept = [(task, args) for task, args in w.dispatch.tasks if task != name]
    w.dispatch.tasks.clear()
    w.dispatch.tasks.extend(kept)
    return taken


def test_fifty_copies_of_one_import_orders_message_make_one_getnewsales(wl: World, sandbox: Sandbox) -> None:
    integration, _, login = verified(wl, sandbox)
    sandbox.add_sales(login, [{"items": [{"sku": "A"}]}])
    wl.run_tasks()
    before = calls(sandbox, login, "getnewsales")
    scheduler.tick(wl.ctx)
    (message,) = queued(wl, "import_orders")

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: TASKS["import_orders"].run(wl.ctx, *message), range(50)))

    assert calls(sandbox, login, "getnewsales") - before == 1
    assert sorted(results, key=str) == [1] + [None] * 49
    assert len(wl.outbox("order.imported", integration)) == 1
    assert wl.integration(integration)["orders_failures"] == 0


def test_a_message_sent_again_after_its_lease_ended_is_stale_and_calls_nothing(
    wl: World, sandbox: Sandbox
) -> None:
    integration, _, login = verified(wl, sandbox)
    wl.run_tasks()
    scheduler.tick(wl.ctx)
    (late,) = queued(wl, "import_orders")
    wait_until(lambda: scheduler.tick(wl.ctx).order_polls, "the lease to end, the poll claimed again")
    (current,) = queued(wl, "import_orders")
    before = calls(sandbox, login, "getnewsales")

    assert TASKS["import_orders"].run(wl.ctx, *late) is None
    assert calls(sandbox, login, "getnewsales") == before, "the stale token calls nothing"
    assert TASKS["import_orders"].run(wl.ctx, *current) == 0
    assert calls(sandbox, login, "getnewsales") == before + 1
    assert current[1] == late[1] + 1


def test_a_worker_pool_stopped_for_twenty_lease_periods_then_restarted_polls_each_integration_once(
    wl: World, sandbox: Sandbox
) -> None:
    shops = [verified(wl, sandbox) for _ in range(3)]
    wl.run_tasks()
    before = {login: calls(sandbox, login, "getnewsales") for _, _, login in shops}
    began = time.monotonic()
    claims: Counter[str] = Counter()
    while time.monotonic() - began < 20 * LEASE_S:  # the scheduler runs, no worker does
        claimed = {integration for integration, _ in scheduler.tick(wl.ctx).order_polls}
        again = {integration for integration, _ in scheduler.tick(wl.ctx).order_polls}
        assert not claimed & again, "while a claim's lease lasts, no second message is sent for it"
        claims.update(claimed | again)
        time.sleep(LEASE_S / 5)  # the scheduler's own pace
    piled_up = queued(wl, "import_orders")

    wl.dispatch.tasks.extend(("import_orders", args) for args in piled_up)  # the workers are back
    wl.run_tasks()

    for _, _, login in shops:
        assert calls(sandbox, login, "getnewsales") - before[login] == 1, login
    assert Counter(args[0] for args in piled_up) == claims
    # each claim no worker started doubled the next lease: a handful of messages, not twenty
    assert all(2 <= count <= 6 for count in claims.values()), claims


def terminate_sessions(admin: psycopg.Connection[Any], database_url: str, *, but: int) -> int:
    """Terminate every session on the test's database but the one of pid `but`; return how many."""
    name = urlsplit(database_url).path.lstrip("/")
    rows = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = %s AND pid NOT IN (pg_backend_pid(), %s)", (name, but)).fetchall()
    return len(rows)


def waiting_for_a_lock(admin: psycopg.Connection[Any], database_url: str) -> bool:
    name = urlsplit(database_url).path.lstrip("/")
    row = admin.execute("SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = %s AND wait_event_type = 'Lock'", (name,)).fetchone()
    return bool(row and row[0])


def hang_taken(sandbox: Sandbox, login: str) -> bool:
    """Whether the seller's queued hang fault was taken: the call it delays is under way."""
    with sandbox.state.seller(login) as seller:
        return not any(f.kind == "hang" for f in seller.faults)


def test_terminating_every_database_session_during_a_stock_upload_neither_loses_the_flush_nor_repeats_it(
    fresh_database: str, sandbox: Sandbox, service_urls: ServiceUrls
) -> None:
    sandbox.configure(import_delay_s=0.05)
    with world(fresh_database, sandbox, rakuten_stock_push_interval_s=0.5, work_lease_s=1.0) as w:
        integration, account, login = verified(w, sandbox, stock_sync_enabled=True)
        sandbox.set_listings(login, {"A": 0, "B": 0})
        w.run_tasks()
        w.apply(event("stock.changed", {"account_id": account, "sku": "A", "quantity": 7}),
                event("stock.changed", {"account_id": account, "sku": "B", "quantity": 3}))
        sandbox.inject_fault(login, "hang", hang_s=1.5, actions=["genericimportfile"])
        wait_until(lambda: scheduler.tick(w.ctx).stock_flushes, "the flush to be claimed")
        (message,) = queued(w, "push_stock")
        outcome: dict[str, Any] = {}
        push = TASKS["push_stock"].run
        upload = threading.Thread(target=lambda: outcome.update(sent=push(w.ctx, *message)))
        upload.start()

        wait_until(lambda: hang_taken(sandbox, login), "the upload to be under way", every=0.01)
        terminated = 0
        with psycopg.connect(service_urls.database, autocommit=True) as admin, \
                psycopg.connect(fresh_database) as locker:
            # the upload's record will wait for this lock, in a session about to die
            locker.execute("LOCK TABLE stock_imports IN ACCESS EXCLUSIVE MODE")
            spared = locker.info.backend_pid
            while calls(sandbox, login, "genericimportfile") == 0:  # every session dies meanwhile
                terminated += terminate_sessions(admin, fresh_database, but=spared)
            wait_until(lambda: waiting_for_a_lock(admin, fresh_database), "the record to wait for the lock")
            terminated += terminate_sessions(admin, fresh_database, but=spared)
            locker.rollback()
        upload.join(30)

        assert outcome == {"sent": 2}, "the upload was recorded through the terminated sessions"
        assert terminated >= 3
        w.drive_until(lambda: w.scalar("SELECT count(*) FROM stock_imports WHERE status = 'done'") == 1)
        w.drive_for(2.0)  # four push intervals: time enough for a second file, were one due
        files = sandbox.files(login)
        assert [sorted(f["lines"]) for f in files] == [[["A", 7], ["B", 3]]]
        assert sandbox.listings(login) == {"A": 7, "B": 3}
        assert w.scalar("SELECT count(*) FROM stock_pending") == 0
