"""Credentials refused once are confirmed before they stop anything; sent again, they are verified again."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from connectors.rakuten.sandbox import Sandbox
from tests.fixtures.sandbox import refuse_credentials
from tests.flows.harness import World, event, install, world


@pytest.fixture
def w(fresh_database: str, sandbox: Sandbox) -> Iterator[World]:
    """A World polling orders every 0.2 s, with stock files every 0.3 s."""
    sandbox.configure(import_delay_s=0.05)
    with world(fresh_database, sandbox, rakuten_order_poll_interval_s=0.2, rakuten_stock_push_interval_s=0.3,
               http_timeout=1.0) as built:
        yield built


def shop(w: World, sandbox: Sandbox, **extra: object) -> tuple[str, str, str, str]:
    suffix = uuid.uuid4().hex[:8]
    integration, account, login, token = f"int-{suffix}", f"acc-{suffix}", f"Shop{suffix}", f"tok-{suffix}"
    sandbox.add_seller(login, token)
    sandbox.set_listings(login, {"A": 0})
    w.apply(install(integration, account, login, token, **extra))
    return integration, account, login, token


def verified(w: World, sandbox: Sandbox, **extra: object) -> tuple[str, str, str, str]:
    made = shop(w, sandbox, **extra)
    w.drive_until(lambda: w.outbox("integration.verified", made[0]))
    return made


def verifications(sandbox: Sandbox, login: str) -> int:
    """getnewsales calls: the verifications' and the polls' together."""
    return len(sandbox.requests(login=login, action="getnewsales"))


def test_one_refusal_during_a_poll_then_a_successful_verification_leaves_the_integration_verified(
    w: World, sandbox: Sandbox
) -> None:
    integration, _, login, _ = verified(w, sandbox)
    w.drive_until(lambda: w.integration(integration)["last_orders_poll_at"])
    refuse_credentials(sandbox, login, count=1, actions=["getnewsales"])
    sandbox.add_sales(login, [{"items": [{"sku": "A"}]}])

    w.drive_until(lambda: w.outbox("order.imported", integration), timeout=20)

    assert w.integration(integration)["status"] == "verified"
    assert w.outbox("integration.verification_failed", integration) == []
    assert len(w.outbox("integration.verified", integration)) == 1, "a confirmation publishes nothing"
    refused = [r for r in sandbox.requests(login=login, action="getnewsales") if r["error_code"]]
    assert len(refused) == 1


def test_one_refusal_during_a_stock_upload_is_confirmed_and_the_stock_still_goes_out(
    w: World, sandbox: Sandbox
) -> None:
    integration, account, login, _ = verified(w, sandbox, stock_sync_enabled=True)
    refuse_credentials(sandbox, login, count=1, actions=["genericimportfile"])
    w.apply(event("stock.changed", {"account_id": account, "sku": "A", "quantity": 4}))

    w.drive_until(lambda: sandbox.listings(login) == {"A": 4}, timeout=20)

    assert w.integration(integration)["status"] == "verified"
    assert w.outbox("integration.verification_failed", integration) == []


def test_one_refusal_during_an_acceptance_is_confirmed_and_the_item_accepted_after_all(
    w: World, sandbox: Sandbox
) -> None:
    integration, _, login, _ = verified(w, sandbox, auto_accept_orders=True)
    refuse_credentials(sandbox, login, count=1, actions=["acceptsale"])
    sandbox.add_sales(login, [{"items": [{"item_id": "901", "sku": "A"}]}])

    w.drive_until(lambda: sandbox.requests(login=login, action="acceptsale")
                  and w.scalar("SELECT accept_state FROM order_items WHERE item_id = '901'") == "accepted",
                  timeout=20)

    assert w.integration(integration)["status"] == "verified"
    assert w.scalar("SELECT accept_attempts FROM order_items WHERE item_id = '901'") == 1


@pytest.mark.parametrize(
    ("stopped", "fault"), [("invalid_credentials", "refused"), ("unavailable", "http500")]
)
def test_the_same_credentials_sent_again_verify_a_stopped_integration_again(
    w: World, sandbox: Sandbox, stopped: str, fault: str
) -> None:
    suffix = uuid.uuid4().hex[:8]
    integration, account, login, token = f"int-{suffix}", f"acc-{suffix}", f"Shop{suffix}", f"tok-{suffix}"
    sandbox.add_seller(login, token)
    if fault == "refused":  # e.g. the token was not activated yet on Rakuten's side
        refuse_credentials(sandbox, login, count=1, actions=["getnewsales"])
    else:
        sandbox.inject_fault(login, "http500", count=4, actions=["getnewsales"])
    w.apply(install(integration, account, login, token))
    w.drive_until(lambda: w.integration(integration)["status"] == stopped)
    (failed,) = w.outbox("integration.verification_failed", integration)

    # the merchant presses Confirm again, with the very same seller ID and token
    w.apply(event("integration.updated", {"integration_id": integration, "account_id": account,
                                          "app": "rakuten", "seller_id": login, "token": token}))

    w.drive_until(lambda: w.integration(integration)["status"] == "verified")
    (verified_event,) = w.outbox("integration.verified", integration)
    assert verified_event["id"] != failed["id"]
    assert w.integration(integration)["credentials_version"] == 2


def test_the_same_credentials_sent_again_for_a_verified_integration_do_not_verify_it_again(
    w: World, sandbox: Sandbox
) -> None:
    integration, account, login, token = verified(w, sandbox)
    calls = verifications(sandbox, login)

    w.apply(event("integration.updated", {"integration_id": integration, "account_id": account,
                                          "app": "rakuten", "seller_id": login, "token": token,
                                          "application_name": "Rakuten FR"}))
    w.run_tasks()

    assert [name for name, _ in w.dispatch.sent].count("verify") == 1, "only the install's"
    assert w.integration(integration)["credentials_version"] == 1
    assert verifications(sandbox, login) == calls
