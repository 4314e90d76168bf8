"""Integration lifecycle: install, verify, update, delete, against PostgreSQL and the sandbox."""

from __future__ import annotations

import logging
import subprocess
import uuid

import pytest

from connectors.rakuten.sandbox import Sandbox
from tests.flows.harness import World, event, install
from workers.handlers import UnknownIntegration


def _ids() -> tuple[str, str, str, str]:
    suffix = uuid.uuid4().hex[:8]
    return f"int-{suffix}", f"acc-{suffix}", f"Shop{suffix}", f"tok-{uuid.uuid4().hex}"


def _seller(sandbox: Sandbox, login: str, token: str) -> str:
    return sandbox.add_seller(login, token)


def _getnewsales_calls(sandbox: Sandbox, login: str) -> int:
    return len(sandbox.requests(login=login, action="getnewsales"))


def test_install_with_good_credentials_publishes_one_verified_event_with_the_numeric_seller_id(
    w: World, sandbox: Sandbox
) -> None:
    integration, account, login, token = _ids()
    seller_id = _seller(sandbox, login, token)
    w.apply(install(integration, account, login, token))
    w.drive_until(lambda: w.outbox("integration.verified", integration))
    w.drive_for(0.3)
    verified = w.outbox("integration.verified", integration)
    assert len(verified) == 1
    data = verified[0]["data"]
    assert data["rakuten_seller_id"] == seller_id and isinstance(data["rakuten_seller_id"], str)
    assert data | {"verified_at": None} == {
        "integration_id": integration,
        "account_id": account,
        "app": "rakuten",
        "seller_id": login,
        "rakuten_seller_id": seller_id,
        "verified_at": None,
    }
    assert verified[0]["source"] == "rakuten-connector"
    assert w.integration(integration)["status"] == "verified"


def test_wrong_token_is_reported_as_invalid_credentials_and_never_polled_again(
    w: World, sandbox: Sandbox
) -> None:
    integration, account, login, token = _ids()
    _seller(sandbox, login, token)
    w.apply(install(integration, account, login, "not-the-token"))
    w.drive_until(lambda: w.outbox("integration.verification_failed", integration))
    failed = w.outbox("integration.verification_failed", integration)[0]["data"]
    assert failed["reason"] == "invalid_credentials"
    assert "not-the-token" not in failed["detail"]
    calls = _getnewsales_calls(sandbox, login)
    w.drive_for(1.0)
    assert _getnewsales_calls(sandbox, login) == calls == 1
    assert w.integration(integration)["status"] == "invalid_credentials"


def test_a_token_pasted_with_surrounding_spaces_verifies(w: World, sandbox: Sandbox) -> None:
    integration, account, login, token = _ids()
    _seller(sandbox, login, token)
    w.apply(install(integration, account, f"  {login}\t", f"\n {token}  "))
    w.drive_until(lambda: w.outbox("integration.verified", integration))


def test_an_update_with_a_corrected_token_verifies_after_a_refusal(w: World, sandbox: Sandbox) -> None:
    integration, account, login, token = _ids()
    _seller(sandbox, login, token)
    w.apply(install(integration, account, login, token[:-3]))
    w.drive_until(lambda: w.outbox("integration.verification_failed", integration))
    update = {"integration_id": integration, "account_id": account, "app": "rakuten", "token": token}
    w.apply(event("integration.updated", update))
    w.drive_until(lambda: w.outbox("integration.verified", integration))
    assert w.integration(integration)["credentials_version"] == 2


def test_the_same_event_delivered_twice_is_applied_once(w: World, sandbox: Sandbox) -> None:
    integration, account, login, token = _ids()
    _seller(sandbox, login, token)
    installed = install(integration, account, login, token)
    w.apply(installed)
    w.apply(installed)
    w.apply(installed, installed)
    w.drive_until(lambda: w.outbox("integration.verified", integration))
    assert [name for name, _ in w.dispatch.sent].count("verify") == 1
    assert w.scalar("SELECT count(*) FROM inbox WHERE event_id = %s", installed.id) == 1
    assert _getnewsales_calls(sandbox, login) >= 1
    assert len(w.outbox("integration.verified", integration)) == 1


def test_an_update_changing_only_settings_does_not_verify_again(w: World, sandbox: Sandbox) -> None:
    integration, account, login, token = _ids()
    _seller(sandbox, login, token)
    w.apply(install(integration, account, login, token))
    w.drive_until(lambda: w.outbox("integration.verified", integration))
    change = {
        "integration_id": integration,
        "account_id": account,
        "app": "rakuten",
        "application_name": "Rakuten FR",
        "stock_sync_enabled": True,
    }
    w.apply(event("integration.updated", change))
    row = w.integration(integration)
    assert (row["application_name"], row["stock_sync_enabled"], row["status"]) == (
        "Rakuten FR",
        True,
        "verified",
    )
    assert row["credentials_version"] == 1 and row["seller_id"] == login


def test_delete_erases_the_token_stops_polling_and_ignores_later_events(w: World, sandbox: Sandbox) -> None:
    integration, account, login, token = _ids()
    _seller(sandbox, login, token)
    w.apply(install(integration, account, login, token))
    w.drive_until(lambda: w.outbox("integration.verified", integration))
    ids = {"integration_id": integration, "account_id": account, "app": "rakuten"}
    w.apply(event("integration.deleted", ids))
    row = w.integration(integration)
    assert row["status"] == "deleted" and row["token_encrypted"] is None
    w.apply(event("integration.updated", {**ids, "token": "new-token"}))
    calls = _getnewsales_calls(sandbox, login)
    w.drive_for(0.5)
    assert _getnewsales_calls(sandbox, login) == calls
    assert w.integration(integration)["status"] == "deleted"


def test_an_event_naming_another_accounts_integration_changes_nothing(w: World, sandbox: Sandbox) -> None:
    integration, account, login, token = _ids()
    _seller(sandbox, login, token)
    w.apply(install(integration, account, login, token))
    hostile = {"integration_id": integration, "account_id": "someone-else", "app": "rakuten"}
    with pytest.raises(Exception, match="another account"):
        w.apply(event("integration.deleted", hostile))
    assert w.integration(integration)["status"] != "deleted"


def test_rakuten_unavailable_is_retried_then_reported_and_a_later_success_verifies(
    w: World, sandbox: Sandbox
) -> None:
    integration, account, login, token = _ids()
    _seller(sandbox, login, token)
    sandbox.inject_fault(login, "http500", count=4, actions=["getnewsales"])
    w.apply(install(integration, account, login, token))
    w.drive_until(lambda: w.outbox("integration.verification_failed", integration))
    failed = w.outbox("integration.verification_failed", integration)
    assert [e["data"]["reason"] for e in failed] == ["rakuten_unavailable"]
    assert _getnewsales_calls(sandbox, login) == 4
    w.drive_until(lambda: w.outbox("integration.verified", integration))
    assert w.integration(integration)["status"] == "verified"


def test_a_quota_answer_is_retried_and_never_reported_as_bad_credentials(w: World, sandbox: Sandbox) -> None:
    integration, account, login, token = _ids()
    _seller(sandbox, login, token)
    sandbox.inject_fault(login, "quota", count=2, actions=["getnewsales"])
    w.apply(install(integration, account, login, token))
    w.drive_until(lambda: w.outbox("integration.verified", integration))
    assert w.outbox("integration.verification_failed", integration) == []


def test_the_token_is_in_no_log_line_no_event_and_no_database_column(
    w: World, sandbox: Sandbox, caplog: pytest.LogCaptureFixture, fresh_database: str
) -> None:
    caplog.set_level(logging.DEBUG)
    integration, account, login, token = _ids()
    _seller(sandbox, login, token)
    w.apply(install(integration, account, login, f" {token} "))
    w.drive_until(lambda: w.outbox("integration.verified", integration))
    w.apply(install(f"{integration}-bad", account, login, f"{token}-wrong"))
    w.drive_until(lambda: w.outbox("integration.verification_failed", f"{integration}-bad"))
    assert caplog.records, "the flow logs something"
    for record in caplog.records:
        assert token not in record.getMessage()
        assert token not in str(record.args) and token not in str(record.exc_info)
    assert token not in str(w.outbox())
    dump = subprocess.run(["pg_dump", "--data-only", fresh_database], capture_output=True, check=True)
    assert login.encode() in dump.stdout  # the dump does hold the integration
    assert token.encode() not in dump.stdout


def test_an_update_for_an_integration_never_installed_is_refused_for_the_dead_letters(w: World) -> None:
    integration, account, _, token = _ids()
    update = {"integration_id": integration, "account_id": account, "app": "rakuten", "token": token}
    with pytest.raises(UnknownIntegration):
        w.apply(event("integration.updated", update))
    assert w.scalar("SELECT count(*) FROM integrations WHERE integration_id = %s", integration) == 0


def test_a_delete_that_overtakes_its_install_makes_the_late_install_change_nothing(
    w: World, sandbox: Sandbox
) -> None:
    integration, account, login, token = _ids()
    _seller(sandbox, login, token)
    w.apply(
        event("integration.deleted", {"integration_id": integration, "account_id": account, "app": "rakuten"})
    )
    w.apply(install(integration, account, login, token))
    w.drive_for(0.3)
    row = w.integration(integration)
    assert (row["status"], row["token_encrypted"]) == ("deleted", None)
    assert _getnewsales_calls(sandbox, login) == 0
