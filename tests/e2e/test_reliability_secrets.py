"""No Rakuten token leaks, whatever goes wrong, in text or JSON logs.

`run` (at DEBUG level) goes through the paths where a token could escape: installs,
a token Rakuten refuses then a corrected one, faults on every action (HTTP 500,
hangs past the timeout, truncated and hostile XML, quota), an event with a token
that is dead-lettered, a deletion. Then no token is in `run`'s output (tracebacks
included), in a published event, in the outbox, in the work queues (where
Dramatiq keeps a failed message's traceback) or in a dump of the database; only
the dead-letter queue holds the sender's own message, as received.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.rakuten.sandbox import Sandbox
from tests.e2e.helpers import inbound, installed
from tests.e2e.reliability_helpers import (
    System,
    Workload,
    assert_secrets_kept,
    faults_left,
    queued_bodies,
    random_token,
    started_system,
    wait_for,
)
from tests.fixtures.services import ServiceUrls, VhostFactory

pytestmark = pytest.mark.slow

FAULTS = [  # (kind, options): every fault the sandbox serves, on every action
    ("http500", {}), ("hang", {"hang_s": 1.5}), ("malformed", {}), ("billion_laughs", {}), ("quota", {}),
]
ACTIONS = ["getnewsales", "getcurrentsales", "genericimportfile", "genericimportreport"]


@pytest.fixture(params=["text", "json"])
def system(request: pytest.FixtureRequest, service_urls: ServiceUrls, vhosts: VhostFactory, sandbox: Sandbox,
           tmp_path: Path) -> Iterator[System]:
    with started_system(service_urls, vhosts, sandbox, tmp_path, LOG_FORMAT=request.param,
                        LOG_LEVEL="DEBUG") as built:
        yield built


def status_of(system: System, integration_id: str) -> str | None:
    rows = system.query("SELECT status FROM integrations WHERE integration_id = %s", (integration_id,))
    return rows[0][0] if rows else None


def test_no_token_leaks_into_logs_events_queues_or_the_database(system: System) -> None:
    load = Workload(system, shops=2, skus=4, seed=9)
    first, second = load.shops
    wrong = random_token()
    rejected = random_token()
    # the second merchant pastes a wrong token first (Rakuten refuses it), then the right one
    system.publish([
        installed(first.integration_id, first.account_id, first.seller.login, first.seller.token,
                  stock_sync_enabled=True),
        installed(second.integration_id, second.account_id, second.seller.login, f"  {wrong} ",
                  stock_sync_enabled=True),
    ])
    wait_for(lambda: status_of(system, second.integration_id) == "invalid_credentials",
             "the wrong token to be refused")
    system.publish([inbound("integration.updated", {
        "integration_id": second.integration_id, "account_id": second.account_id, "app": "rakuten",
        "token": second.seller.token})])
    load.wait_verified()
    for shop in load.shops:
        for kind, options in FAULTS:
            system.sandbox.inject_fault(shop.seller.login, kind, actions=ACTIONS, **options)
    # an event whose data is invalid is dead-lettered with its token; the log names the field only
    bad = installed("int-bad", "acc-bad", "shop-bad", rejected, stock_sync_enabled="yes")
    system.publish([bad])
    load.add_sales(4)
    load.change_stock(8)

    load.wait_settled()
    wait_for(lambda: not any(faults_left(system.sandbox, s.seller.login) for s in load.shops),
             "every fault to be served", timeout=60)
    system.publish([inbound("integration.deleted", {
        "integration_id": first.integration_id, "account_id": first.account_id, "app": "rakuten"})])
    wait_for(lambda: status_of(system, first.integration_id) == "deleted", "the deletion")

    assert system.query("SELECT token_encrypted FROM integrations WHERE integration_id = %s",
                        (first.integration_id,)) == [(None,)], "deleting erases the token"
    dead = queued_bodies(system.amqp_url, ["rakuten.inbox.dead"])
    assert rejected in dead, "the dead letter keeps the sender's own message"
    log = system.running.log()
    assert "stock_sync_enabled" in log and "invalid_credentials" in log
    if system.running.env["LOG_FORMAT"] == "json":
        lines = [line for line in log.splitlines() if line.strip()]
        assert all(isinstance(json.loads(line), dict) for line in lines), "one JSON object per line"
    assert_secrets_kept(system, [*load.tokens, wrong, rejected])
