"""A buyer's cancellation seen by `run` through SIGKILLs of its worker: one change, one event id.

The worker is killed while it waits for the `getcurrentsales` answer that shows the
cancellation (twice), then again once the change was published, while a later poll
reads the same answer. Every `order.updated` that reaches the exchange is the one
change, with the contract's id; the database holds it once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.rakuten.sandbox import Sandbox
from events.outbound_data import ItemChange
from events.outbound_orders import order_updated_id
from tests.e2e.helpers import installed, wait_until
from tests.e2e.reliability_helpers import System, kill_during_call, new_seller, started_system
from tests.fixtures.services import ServiceUrls, VhostFactory

pytestmark = pytest.mark.slow


@pytest.fixture
def system(service_urls: ServiceUrls, vhosts: VhostFactory, sandbox: Sandbox, tmp_path: Path
           ) -> Iterator[System]:
    with started_system(service_urls, vhosts, sandbox, tmp_path) as built:
        yield built


def test_the_same_change_seen_again_after_a_sigkill_of_the_worker_carries_the_same_event_id(
    system: System,
) -> None:
    seller = new_seller(system.sandbox, ["MUG", "CUP"], initial=5)
    integration_id, account_id = f"int-{uuid.uuid4().hex[:8]}", f"acc-{uuid.uuid4().hex[:8]}"
    system.publish([installed(integration_id, account_id, seller.login, seller.token)])
    wait_until(lambda: system.tap.of("integration.verified", integration_id), "the verification", timeout=30)
    system.sandbox.add_sales(seller.login, [{"purchase_id": "9101", "items": [
        {"item_id": "911", "sku": "MUG", "status": "ACCEPTED"},
        {"item_id": "912", "sku": "CUP", "status": "ACCEPTED"},
    ]}])
    wait_until(lambda: system.tap.of("order.imported", integration_id), "the import", timeout=30)

    system.sandbox.buyer_cancel(seller.login, "912")
    for _ in range(2):  # killed while the answer showing the cancellation is on its way
        kill_during_call(system.running, system.sandbox, seller.login, "getcurrentsales")
    wait_until(lambda: system.tap.of("order.updated", integration_id), "order.updated", timeout=60)
    kill_during_call(system.running, system.sandbox, seller.login, "getcurrentsales")
    def polls() -> int:
        return len(system.sandbox.requests(login=seller.login, action="getcurrentsales"))

    seen = polls()
    wait_until(lambda: polls() >= seen + 5, "five more polls", timeout=60)

    expected = order_updated_id(
        integration_id, "9101", [ItemChange(item_id="912", from_status="ACCEPTED", to_status="CANCELLED")]
    )
    updated = system.tap.of("order.updated", integration_id)
    assert {d.event["id"] for d in updated} == {expected}
    assert {d.message_id for d in updated} == {expected}
    assert [(c["item_id"], c["from_status"], c["to_status"]) for c in updated[0].event["data"]["changes"]] \
        == [("912", "ACCEPTED", "CANCELLED")]
    recorded = system.query("SELECT event_id FROM order_changes WHERE order_id = '9101'")
    assert recorded == [(expected,)]
