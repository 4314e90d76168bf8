"""One unreadable sale holds back no other: reported once, tried at every poll, imported when it reads."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from connectors.rakuten.sandbox import Sandbox
from tests.flows.harness import World, install, world
from workers import scheduler

POLLS = 5


@pytest.fixture
def w(fresh_database: str, sandbox: Sandbox) -> Iterator[World]:
    """A World polling orders every 0.1 s."""
    with world(fresh_database, sandbox, rakuten_order_poll_interval_s=0.1, http_timeout=2.0) as built:
        yield built


def verified(w: World, sandbox: Sandbox) -> tuple[str, str]:
    suffix = uuid.uuid4().hex[:8]
    integration, login, token = f"int-{suffix}", f"Shop{suffix}", f"tok-{suffix}"
    sandbox.add_seller(login, token)
    w.apply(install(integration, f"acc-{suffix}", login, token))
    w.drive_until(lambda: w.integration(integration)["status"] == "verified")
    w.run_tasks()
    return integration, login


def poll_once(w: World, integration: str) -> None:
    """Claim the integration's poll as soon as it is due and run it."""
    w.drive_until(lambda: any(i == integration for i, _ in scheduler.tick(w.ctx).order_polls))
    w.run_tasks()


def imported(w: World, integration: str) -> list[str]:
    return sorted(e["data"]["order"]["order_id"] for e in w.outbox("order.imported", integration))


def test_five_good_sales_and_two_unreadable_import_the_five_report_the_two_once_and_import_them_once_readable(
    w: World, sandbox: Sandbox
) -> None:
    integration, login = verified(w, sandbox)
    seeded = sandbox.add_sales(login, [{"items": [{"sku": f"SKU-{n}"}]} for n in range(7)])
    ids = [sale["purchase_id"] for sale in seeded]
    sandbox.corrupt_sale(login, ids[1], {"price/amount": "neuf euros"})
    sandbox.corrupt_sale(login, ids[4], {"purchasedate": "hier"})

    poll_once(w, integration)

    good = sorted(ids[:1] + ids[2:4] + ids[5:])
    assert imported(w, integration) == good, "the five readable sales in the first poll"
    for _ in range(POLLS - 1):
        poll_once(w, integration)
    failed = w.outbox("order.import_failed", integration)
    assert sorted((e["data"]["order_id"], e["data"]["detail"]) for e in failed) == sorted([
        (ids[1], "items/item[1]/price/amount: not a number"), (ids[4], "purchasedate: not a date"),
    ]), "each unreadable sale reported once over five polls"
    assert all(e["data"]["reason"] == "unreadable_sale" for e in failed)
    assert imported(w, integration) == good
    assert w.integration(integration)["orders_failures"] == 0, "the polls succeeded"

    sandbox.corrupt_sale(login, ids[1], {})
    sandbox.corrupt_sale(login, ids[4], {})
    poll_once(w, integration)

    assert imported(w, integration) == sorted(ids), "imported at the first poll that reads them"
    assert len(w.outbox("order.import_failed", integration)) == 2


def test_an_unreadable_sale_leaves_no_personal_data_in_its_report(w: World, sandbox: Sandbox) -> None:
    integration, login = verified(w, sandbox)
    (sale,) = sandbox.add_sales(login, [{"buyer": {"last_name": "Lefèvre", "email": "zoe@example.fr"},
                                        "items": [{"sku": "A", "price": "12.50"}]}])
    sandbox.corrupt_sale(login, sale["purchase_id"], {"price/amount": "Lefèvre zoe@example.fr"})

    poll_once(w, integration)

    (failed,) = w.outbox("order.import_failed", integration)
    assert "Lefèvre" not in str(failed) and "zoe@example.fr" not in str(failed)
