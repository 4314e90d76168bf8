"""No quota feedback loop: a refused upload or file never turns into a full re-send of every SKU."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from connectors.rakuten.sandbox import Sandbox
from tests.flows.harness import World, event, install, world
from workers.stock_reports import FILE_REFUSED, MAX_FILE_REFUSALS

PUSH_INTERVAL_S = 0.4

#: a report Rakuten gives for a file it refused as a whole
REFUSED_REPORT = (
    '<?xml version="1.0" encoding="ISO-8859-1"?>\n<genericimportreportresult>'
    "<request><version>2017-02-10</version><user>shop</user></request>"
    "<response><lastversion>2017-02-10</lastversion><file><filename>stock.xml</filename>"
    "<status>Annulé</status><totallines>1</totallines><processedlines>0</processedlines>"
    "<errorlines>0</errorlines></file></response></genericimportreportresult>"
).encode("iso-8859-1")


@pytest.fixture
def w(fresh_database: str, sandbox: Sandbox) -> Iterator[World]:
    """A World whose stock files may go out every PUSH_INTERVAL_S seconds."""
    sandbox.configure(import_delay_s=0.05)
    settings = {"rakuten_stock_push_interval_s": PUSH_INTERVAL_S, "http_timeout": 1.0}
    with world(fresh_database, sandbox, **settings) as built:
        yield built


def synced_shop(w: World, sandbox: Sandbox) -> tuple[str, str, str]:
    """A verified shop with stock sync on whose SKUs A, B, C are known and sent once."""
    suffix = uuid.uuid4().hex[:8]
    integration, account, login, token = f"int-{suffix}", f"acc-{suffix}", f"Shop{suffix}", f"tok-{suffix}"
    sandbox.add_seller(login, token)
    sandbox.set_listings(login, {"A": 0, "B": 0, "C": 0})
    w.apply(*(event("stock.changed", {"account_id": account, "sku": s, "quantity": 1}) for s in "ABC"))
    w.apply(install(integration, account, login, token, stock_sync_enabled=True))
    w.drive_until(lambda: sandbox.listings(login) == {"A": 1, "B": 1, "C": 1} and not pending(w)
                  and not unreported(w))
    return integration, account, login


def pending(w: World) -> int:
    return int(w.scalar("SELECT count(*) FROM stock_pending"))


def unreported(w: World) -> int:
    return int(w.scalar("SELECT count(*) FROM stock_imports WHERE status = 'pending'"))


def files(sandbox: Sandbox, login: str) -> list[dict[str, Any]]:
    return list(sandbox.files(login))


def test_a_file_refused_as_a_whole_is_retried_with_a_growing_cool_down_then_its_skus_get_sync_failed(
    w: World, sandbox: Sandbox
) -> None:
    integration, account, login = synced_shop(w, sandbox)
    sent_before = len(files(sandbox, login))
    sandbox.inject_fault(login, "raw", count=100, actions=["genericimportreport"], body=REFUSED_REPORT)

    w.apply(event("stock.changed", {"account_id": account, "sku": "A", "quantity": 5}))
    w.drive_until(lambda: w.outbox("stock.sync_failed", integration), timeout=30)

    refused = files(sandbox, login)[sent_before:]
    assert [f["lines"] for f in refused] == [[["A", 5]]] * MAX_FILE_REFUSALS, "only A, never every SKU"
    times = [datetime.fromisoformat(f["received_at"]) for f in refused]
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
    assert all(later > earlier for earlier, later in zip(gaps, gaps[1:], strict=False)), gaps
    (failed,) = w.outbox("stock.sync_failed", integration)
    assert (failed["data"]["sku"], failed["data"]["quantity"]) == ("A", 5)
    assert failed["data"]["error_code"] == FILE_REFUSED
    w.drive_for(3 * PUSH_INTERVAL_S)
    assert len(files(sandbox, login)) == sent_before + MAX_FILE_REFUSALS, "given up on: not sent forever"
    assert pending(w) == 0


def test_a_sku_given_up_on_is_sent_again_when_its_quantity_changes(w: World, sandbox: Sandbox) -> None:
    integration, account, login = synced_shop(w, sandbox)
    sandbox.inject_fault(login, "raw", count=MAX_FILE_REFUSALS, actions=["genericimportreport"],
                         body=REFUSED_REPORT)
    w.apply(event("stock.changed", {"account_id": account, "sku": "B", "quantity": 8}))
    w.drive_until(lambda: w.outbox("stock.sync_failed", integration), timeout=30)

    w.apply(event("stock.changed", {"account_id": account, "sku": "B", "quantity": 9}))

    w.drive_until(lambda: sandbox.listings(login)["B"] == 9, timeout=30)


@pytest.mark.parametrize("fault", ["quota", "refused"])
def test_a_refused_upload_sends_only_the_pending_skus_again_never_a_full_resend(
    w: World, sandbox: Sandbox, fault: str
) -> None:
    integration, account, login = synced_shop(w, sandbox)
    sent_before = len(files(sandbox, login))
    if fault == "quota":
        sandbox.inject_fault(login, "quota", count=1, actions=["genericimportfile"])
    else:
        body = (b'<?xml version="1.0" encoding="ISO-8859-1"?><errorresponse><error><type>Sender</type>'
                b"<code>ParameterError</code><message>The file is invalid.</message></error></errorresponse>")
        sandbox.inject_fault(login, "raw", count=1, actions=["genericimportfile"], body=body)

    w.apply(event("stock.changed", {"account_id": account, "sku": "C", "quantity": 6}))
    w.drive_until(lambda: sandbox.listings(login)["C"] == 6, timeout=20)
    # a full re-send would come an interval and an HTTP timeout after the refused upload
    w.drive_for(PUSH_INTERVAL_S + w.ctx.settings.rakuten.rakuten_http_timeout_s + 2 * PUSH_INTERVAL_S)

    assert [f["lines"] for f in files(sandbox, login)[sent_before:]] == [[["C", 6]]]
    assert w.integration(integration)["reconcile_due_at"] > w.scalar("SELECT now() + interval '1 hour'")
