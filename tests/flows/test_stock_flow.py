"""Stock sync: opt-in, latest wins, coalesced files within the quota, reports."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.rakuten.sandbox import Sandbox
from tests.flows.harness import World, event, install, world
from workers import scheduler, stock_sync

PUSH_INTERVAL_S = 1.0


@pytest.fixture
def ws(fresh_database: str, sandbox: Sandbox) -> Iterator[World]:
    """A World whose stock files may go out every PUSH_INTERVAL_S seconds."""
    sandbox.configure(import_delay_s=0.05)
    with world(fresh_database, sandbox, rakuten_stock_push_interval_s=PUSH_INTERVAL_S) as built:
        yield built


def _verified(
    w: World, sandbox: Sandbox, *, skus: dict[str, int], sync: bool = True, account: str | None = None
) -> tuple[str, str, str]:
    suffix = uuid.uuid4().hex[:8]
    integration, account, login = f"int-{suffix}", account or f"acc-{suffix}", f"Shop{suffix}"
    token = f"tok-{suffix}"
    sandbox.add_seller(login, token)
    sandbox.set_listings(login, skus)
    w.apply(install(integration, account, login, token, stock_sync_enabled=sync))
    w.drive_until(lambda: w.outbox("integration.verified", integration))
    return integration, account, login


def _stock(account: str, sku: str, quantity: int, *, version: int | None = None) -> Any:
    data: dict[str, Any] = {"account_id": account, "sku": sku, "quantity": quantity}
    if version is not None:
        data["version"] = version
    return event("stock.changed", data)


def _files(sandbox: Sandbox, login: str) -> list[dict[str, Any]]:
    return list(sandbox.files(login))


def _settled(w: World, sandbox: Sandbox, login: str, integration: str) -> bool:
    pending = w.scalar("SELECT count(*) FROM stock_pending WHERE integration_id = %s", integration)
    unreported = w.scalar(
        "SELECT count(*) FROM stock_imports WHERE integration_id = %s AND status = 'pending'", integration
    )
    return pending == 0 and unreported == 0 and bool(_files(sandbox, login))


def test_shuffled_events_end_with_the_newest_quantity_of_every_sku_in_few_spaced_files(
    ws: World, sandbox: Sandbox
) -> None:
    skus = {f"SKU-{n:03d}": 0 for n in range(200)}
    integration, account, login = _verified(ws, sandbox, skus=skus)
    rng = random.Random(7)
    events, newest = [], {}
    for n in range(2000):
        sku, qty = f"SKU-{n % 200:03d}", rng.randrange(0, 500)
        events.append(_stock(account, sku, qty, version=n + 1))
        newest[sku] = qty
    rng.shuffle(events)
    for start in range(0, len(events), 250):
        ws.apply(*events[start : start + 250])
    ws.drive_until(lambda: _settled(ws, sandbox, login, integration))
    files = _files(sandbox, login)
    assert 1 <= len(files) <= 2
    for f in files:
        skus_in_file = [line[0] for line in f["lines"]]
        assert len(skus_in_file) == len(set(skus_in_file)), "no SKU twice in a file"
    times = sorted(datetime.fromisoformat(f["received_at"]) for f in files)
    assert all(
        b - a >= timedelta(seconds=PUSH_INTERVAL_S * 0.95) for a, b in zip(times, times[1:], strict=False)
    )
    assert sandbox.listings(login) == newest


def test_the_first_change_after_a_quiet_period_goes_out_at_once_and_later_ones_are_coalesced(
    ws: World, sandbox: Sandbox
) -> None:
    integration, account, login = _verified(ws, sandbox, skus={"A": 0, "B": 0})
    before = len(_files(sandbox, login))
    ws.apply(_stock(account, "A", 3))
    ws.drive_until(lambda: len(_files(sandbox, login)) == before + 1, timeout=PUSH_INTERVAL_S * 0.9)
    for qty in (4, 5, 6):
        ws.apply(_stock(account, "B", qty))
    ws.drive_until(lambda: len(_files(sandbox, login)) == before + 2)
    assert _files(sandbox, login)[-1]["lines"] == [["B", 6]]


def test_stock_sync_off_means_zero_stock_calls(ws: World, sandbox: Sandbox) -> None:
    integration, account, login = _verified(ws, sandbox, skus={"A": 1}, sync=False)
    for qty in range(5):
        ws.apply(_stock(account, "A", qty))
    ws.drive_for(PUSH_INTERVAL_S * 2.5)
    stock_calls = [r for r in sandbox.requests(login=login) if r["path"].startswith("/stock_ws")]
    assert stock_calls == []
    assert ws.scalar("SELECT count(*) FROM stock_pending WHERE integration_id = %s", integration) == 0


def test_turning_sync_on_pushes_every_known_sku_and_turning_it_off_stops_pushes(
    ws: World, sandbox: Sandbox
) -> None:
    integration, account, login = _verified(ws, sandbox, skus={"A": 1, "B": 1, "Z": 9}, sync=False)
    ws.apply(_stock(account, "A", 0), _stock(account, "B", 2))
    ids = {"integration_id": integration, "account_id": account, "app": "rakuten"}
    ws.apply(event("integration.updated", {**ids, "stock_sync_enabled": True}))
    ws.drive_until(lambda: _settled(ws, sandbox, login, integration))
    assert sorted(_files(sandbox, login)[0]["lines"]) == [["A", 0], ["B", 2]]
    ws.apply(event("integration.updated", {**ids, "stock_sync_enabled": False}))
    ws.apply(_stock(account, "A", 5))
    ws.drive_for(PUSH_INTERVAL_S * 1.5)
    assert len(_files(sandbox, login)) == 1


def test_two_accounts_with_the_same_skus_each_get_only_their_own_quantities(
    ws: World, sandbox: Sandbox
) -> None:
    skus = {"SHARED-1": 0, "SHARED-2": 0}
    first, account_1, login_1 = _verified(ws, sandbox, skus=skus)
    second, account_2, login_2 = _verified(ws, sandbox, skus=skus)
    ws.apply(
        _stock(account_1, "SHARED-1", 11),
        _stock(account_2, "SHARED-1", 22),
        _stock(account_1, "SHARED-2", 13),
        _stock(account_2, "SHARED-2", 24),
    )
    ws.drive_until(lambda: _settled(ws, sandbox, login_1, first) and _settled(ws, sandbox, login_2, second))
    assert sandbox.listings(login_1) == {"SHARED-1": 11, "SHARED-2": 13}
    assert sandbox.listings(login_2) == {"SHARED-1": 22, "SHARED-2": 24}


def test_a_sku_rakuten_rejects_yields_one_sync_failed_event_with_the_error_text(
    ws: World, sandbox: Sandbox
) -> None:
    integration, account, login = _verified(ws, sandbox, skus={"GOOD": 0})
    ws.apply(_stock(account, "GOOD", 4), _stock(account, "UNKNOWN-SKU", 9))
    ws.drive_until(lambda: ws.outbox("stock.sync_failed", integration))
    ws.drive_for(0.3)
    failed = ws.outbox("stock.sync_failed", integration)
    assert len(failed) == 1
    data = failed[0]["data"]
    assert (data["sku"], data["quantity"], data["account_id"]) == ("UNKNOWN-SKU", 9, account)
    assert data["error_text"] and data["error_code"] and data["import_id"]
    assert sandbox.listings(login)["GOOD"] == 4


def test_a_quota_answer_on_upload_is_retried_later_and_nothing_is_lost(ws: World, sandbox: Sandbox) -> None:
    integration, account, login = _verified(ws, sandbox, skus={"A": 0, "B": 0}, sync=True)
    ws.apply(_stock(account, "A", 1))
    ws.drive_until(lambda: _settled(ws, sandbox, login, integration))
    sandbox.inject_fault(login, "quota", count=1, actions=["genericimportfile"])
    ws.drive_for(PUSH_INTERVAL_S)
    ws.apply(_stock(account, "A", 7), _stock(account, "B", 8))
    ws.drive_until(lambda: sandbox.listings(login) == {"A": 7, "B": 8}, timeout=PUSH_INTERVAL_S * 6)
    uploads = sandbox.requests(login=login, action="genericimportfile")
    assert [u["error_code"] for u in uploads].count("fault:quota") == 1
    assert len(uploads) == 3  # the initial push, the refused one, the retry


def test_a_stale_event_never_overwrites_a_newer_quantity(ws: World, sandbox: Sandbox) -> None:
    integration, account, login = _verified(ws, sandbox, skus={"A": 0, "V": 0})
    now = datetime.now(UTC)
    ws.apply(event("stock.changed", {"account_id": account, "sku": "A", "quantity": 5}, time_=now))
    ws.apply(
        event(
            "stock.changed",
            {"account_id": account, "sku": "A", "quantity": 1},
            time_=now - timedelta(seconds=5),
        )
    )
    ws.apply(_stock(account, "V", 9, version=10), _stock(account, "V", 2, version=3))
    ws.drive_until(lambda: _settled(ws, sandbox, login, integration) and sandbox.listings(login)["A"] == 5)
    assert sandbox.listings(login) == {"A": 5, "V": 9}


def test_two_workers_pushing_at_once_never_upload_two_files_in_one_interval(
    ws: World, sandbox: Sandbox
) -> None:
    integration, account, login = _verified(ws, sandbox, skus={f"S{n}": 0 for n in range(20)})
    stop = threading.Event()

    def hammer() -> None:
        # four workers given copies of the current message, over and over
        while not stop.is_set():
            token = ws.scalar(
                "SELECT stock_lease_token FROM integrations WHERE integration_id = %s", integration
            )
            stock_sync.push_stock(ws.ctx, integration, token)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for n in range(40):
            ws.apply(_stock(account, f"S{n % 20}", n))
            scheduler.tick(ws.ctx)  # the claims; the hammering threads do the work
            stop.wait(0.05)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    times = sorted(datetime.fromisoformat(f["received_at"]) for f in _files(sandbox, login))
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert len(times) >= 2 and all(g >= timedelta(seconds=PUSH_INTERVAL_S * 0.95) for g in gaps), gaps
