"""An idle `run` is quiet: a few lines a minute at INFO, each one JSON object, while it prunes.

"Idle" as in production between orders: one verified integration polled every
half second (forty polls in the window: what 5-minute polls do in three hours),
probes and scrapes coming in, the scheduler ticking and pruning. Only the lines
written inside the window count, not the start-up.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.rakuten.sandbox import Sandbox
from tests.e2e.reliability_helpers import System, Workload, started_system, wait_for
from tests.fixtures.services import ServiceUrls, VhostFactory

pytestmark = pytest.mark.slow

POLLS = 40  #: order polls in the measured window (0.5 s apart and a tick: about 30 s)
LINES_PER_MINUTE = 20  #: the bound at INFO


@pytest.fixture
def system(
    service_urls: ServiceUrls, vhosts: VhostFactory, sandbox: Sandbox, tmp_path: Path
) -> Iterator[System]:
    with started_system(service_urls, vhosts, sandbox, tmp_path, LOG_FORMAT="json", LOG_LEVEL="INFO",
                        RAKUTEN_ORDER_POLL_INTERVAL_S="0.5", INBOX_RETENTION_S="2") as built:
        yield built


def _polls(system: System, login: str) -> int:
    return len(system.sandbox.requests(login=login, action="getnewsales"))


def test_an_idle_run_writes_fewer_than_twenty_lines_a_minute_all_json(system: System) -> None:
    load = Workload(system, shops=1, skus=3)
    load.install()
    load.wait_verified()
    login = load.shops[0].seller.login
    wait_for(lambda: _polls(system, login) >= 3, "the first polls")
    wait_for(lambda: system.query("SELECT count(*) FROM inbox")[0][0] == 0, "run to prune the inbox ids")
    start_offset = len(system.running.log())
    first, started = _polls(system, login), time.monotonic()

    def window_done() -> bool:
        system.running.get("/healthz")
        system.running.get("/metrics")
        return _polls(system, login) >= first + POLLS

    wait_for(window_done, f"{POLLS} order polls", timeout=POLLS * 2.0)
    window = system.running.log()[start_offset:]
    minutes = (time.monotonic() - started) / 60
    lines = [line for line in window.splitlines() if line.strip()]
    print(f"{len(lines)} line(s) in {minutes * 60:.0f}s")
    assert len(lines) < LINES_PER_MINUTE * minutes, "\n".join(lines)
    full = [line for line in system.running.log().splitlines() if line.strip()]
    assert all(isinstance(json.loads(line), dict) for line in full), "one JSON object per line"
