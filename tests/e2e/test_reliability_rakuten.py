"""Rakuten misbehaving: failing calls for a while, hostile and oversized answers.

A fifth of the calls fail (HTTP 500, answers that hang past the client timeout,
truncated XML) for a period while sales and stock changes keep coming and a new
merchant installs: afterwards everything completes, no part crashed, and the calls
counted per action stay within what the intervals allow, during the faults and
after (no retry storm). A stock upload that timed out on our side but that
Rakuten still applies later (after a newer file) does not leave stale quantities.
Billion-laughs, external-entity and 50 MB answers are refused without the
worker's memory growing with them, and the integration goes on working.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from connectors.rakuten.sandbox import Sandbox
from tests.e2e.reliability_helpers import (
    RELIABILITY_ENV,
    System,
    Workload,
    assert_parts_alive,
    assert_secrets_kept,
    calls,
    database_dump,
    failing_rakuten,
    hang_taken,
    peak_rss_kib,
    started_system,
    wait_for,
)
from tests.fixtures.services import ServiceUrls, VhostFactory

pytestmark = pytest.mark.slow

FAULT_S = 10.0  #: seconds during which a fifth of the calls fail
POLL_S = float(RELIABILITY_ENV["RAKUTEN_ORDER_POLL_INTERVAL_S"])
PUSH_S = float(RELIABILITY_ENV["RAKUTEN_STOCK_PUSH_INTERVAL_S"])
REPORT_S = float(RELIABILITY_ENV["RAKUTEN_REPORT_POLL_INTERVAL_S"])
#: calls a verification may make: quick attempts before `rakuten_unavailable`, then a slow one
VERIFY_CALLS = 5
SLACK = 3  #: calls answered around the window's edges (a hung call is counted when it ends)

XXE = b"""<?xml version="1.0" encoding="ISO-8859-1"?>
<!DOCTYPE getcurrentsalesresult [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<getcurrentsalesresult><response><sellerid>&xxe;</sellerid><sales/></response></getcurrentsalesresult>
"""
MEMORY_BOUND_KIB = 60 * 1024  #: growth of the worker's peak memory allowed while 50 MB answers arrive


@pytest.fixture
def system(service_urls: ServiceUrls, vhosts: VhostFactory, sandbox: Sandbox, tmp_path: Path
           ) -> Iterator[System]:
    with started_system(service_urls, vhosts, sandbox, tmp_path) as built:
        yield built


def report_reads_allowed(system: System, login_integration: str, since: float, until: float) -> float:
    """Reads of import reports the interval allows: one per interval while each file is pending, plus one."""
    allowed = 0.0
    rows = system.query(
        "SELECT uploaded_at, coalesce(finished_at, now()) FROM stock_imports WHERE integration_id = %s",
        (login_integration,))
    for uploaded, finished in rows:
        start, end = max(uploaded.timestamp(), since), min(finished.timestamp(), until)
        if end >= start:
            allowed += (end - start) / REPORT_S + 2
    return allowed


def assert_no_storm(system: System, load: Workload, since: float, until: float, *, installed_late: set[str]
                    ) -> None:
    """Each action's calls stay within its interval's bound between `since` and `until`."""
    span = until - since
    for shop in load.shops:
        counted = calls(system.sandbox, shop.seller.login, since=since, until=until)
        verify = VERIFY_CALLS if shop.integration_id in installed_late else 0
        assert counted["getnewsales"] <= span / POLL_S + SLACK + verify, counted
        assert counted["getcurrentsales"] <= span / POLL_S + SLACK, counted
        assert counted["genericimportfile"] <= span / PUSH_S + 1, counted
        assert counted["genericimportreport"] <= report_reads_allowed(
            system, shop.integration_id, since, until) + SLACK, counted


def test_a_fifth_of_rakuten_calls_failing_delays_work_but_all_completes_without_a_retry_storm(
    system: System,
) -> None:
    load = Workload(system, shops=2, skus=10, seed=5)
    load.install()
    load.wait_verified()
    parts = system.running.children()
    late = load.add_shop()
    logins = [shop.seller.login for shop in load.shops]

    started = time.time()
    with failing_rakuten(system.sandbox, logins, rate=0.2, kinds=("http500", "hang", "malformed")) as served:
        load.install([late])
        while time.time() - started < FAULT_S:
            load.add_sales(3)
            load.change_stock(8)
            time.sleep(1.0)  # faults are served while the load goes on
    ended = time.time()
    load.wait_settled(timeout=45)
    settled = time.time()

    assert sum(served.values()) >= 10 and set(served) == {"http500", "hang", "malformed"}, served
    assert_parts_alive(system.running, parts)
    assert_no_storm(system, load, started, ended, installed_late={late.integration_id})
    assert_no_storm(system, load, ended, settled, installed_late=set())
    # after the faults, the polls went back to their normal cadence at once (no long backoff)
    assert settled - ended < 20
    assert_secrets_kept(system, load.tokens)


def test_a_stock_file_rakuten_applies_after_its_upload_timed_out_does_not_leave_stale_quantities(
    system: System,
) -> None:
    load = Workload(system, shops=1, skus=6, seed=7)
    login = load.shops[0].seller.login
    load.install()
    load.wait_verified()
    load.wait_settled()
    # Rakuten stores this upload only after the client gave up on it (a hang past the
    # timeout), so it is applied after the next file, which carries newer quantities
    system.sandbox.inject_fault(login, "hang", hang_s=2.5, actions=["genericimportfile"])
    load.change_stock(12)
    wait_for(lambda: hang_taken(system.sandbox, login), "the upload to hang", timeout=20)
    load.change_stock(12)
    wait_for(lambda: len(files := system.sandbox.files(login)) >= 2 and files[1]["status"] != "En attente",
             "the newer file, then the late one, to be applied", timeout=20)

    load.wait_settled()
    assert len(system.sandbox.files(login)) >= 3, "a full re-send followed the late file"
    assert_secrets_kept(system, load.tokens)


def test_hostile_and_oversized_rakuten_answers_are_refused_with_memory_bounded_then_work_resumes(
    system: System,
) -> None:
    load = Workload(system, shops=1, skus=6, seed=6)
    shop = load.shops[0]
    login = shop.seller.login
    sandbox = system.sandbox
    sandbox.inject_fault(login, "billion_laughs", actions=["getnewsales"])  # the verification's call
    load.install()
    load.wait_verified()
    load.add_sales(5)
    load.change_stock(6)
    load.wait_settled()
    parts = system.running.children()
    worker = system.running.child("worker")
    before = peak_rss_kib(worker)
    faults_from = time.time()

    sandbox.inject_fault(login, "huge", size_mb=50, count=2, actions=["getnewsales", "genericimportreport"])
    xxe = base64.b64encode(XXE).decode()
    sandbox.inject_fault(login, "raw", body_base64=xxe, actions=["getcurrentsales"])
    sandbox.inject_fault(login, "billion_laughs", count=2, actions=["getnewsales", "genericimportfile"])
    load.add_sales(5)
    load.change_stock(6)

    load.wait_settled()
    served = [entry["error_code"] for entry in sandbox.requests(login=login)
              if datetime.fromisoformat(entry["time"]).timestamp() >= faults_from]
    assert served.count("fault:huge") == 2 and served.count("fault:raw") == 1, served
    assert served.count("fault:billion_laughs") == 2, served
    assert_parts_alive(system.running, parts)
    grown = peak_rss_kib(worker) - before
    assert grown < MEMORY_BOUND_KIB, f"the worker's peak memory grew by {grown} KiB"
    log = system.running.log()
    assert "RakutenResponseInvalid" in log
    for text in (log, database_dump(system.database_url)):
        assert "root:x:0:0" not in text, "an external entity was resolved"
    wait_for(lambda: not any(f for f in sandbox.files(login) if f["status"] == "En attente"),
             "the stock files to be processed")
    assert_secrets_kept(system, load.tokens)
