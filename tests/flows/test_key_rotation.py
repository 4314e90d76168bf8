"""Key rotation: new key first, old key after it, `rotate-key`, then the old key removed.

Every integration keeps verifying, polling and pushing stock throughout; a token
the merchant changes during the rotation keeps its new value; a token no key
decrypts is reported and left alone.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
import pytest
from cryptography.fernet import Fernet, InvalidToken

from connectors.rakuten.sandbox import Sandbox
from tests.flows.harness import World, event, install, world
from workers import runbook
from workers.crypto import TokenCipher
from workers.key_rotation import Rotation, rotate_tokens


@dataclass(frozen=True)
class Shop:
    integration_id: str
    account_id: str
    login: str
    token: str


def _shop(sandbox: Sandbox) -> Shop:
    suffix = uuid.uuid4().hex[:8]
    shop = Shop(f"int-{suffix}", f"acc-{suffix}", f"Shop{suffix}", f"tok+{uuid.uuid4().hex}/=")
    sandbox.add_seller(shop.login, shop.token)
    sandbox.set_listings(shop.login, {"SKU-1": 5})
    return shop


def _stored(w: World, integration_id: str) -> bytes:
    query = "SELECT token_encrypted FROM integrations WHERE integration_id = %s"
    return bytes(w.scalar(query, integration_id))


def _opens_with(key: str, blob: bytes) -> str | None:
    try:
        return Fernet(key.encode()).decrypt(blob).decode()
    except InvalidToken:
        return None


def _imports_a_new_sale(w: World, sandbox: Sandbox, shop: Shop) -> None:
    added = sandbox.add_sales(shop.login, [{"items": [{"sku": "SKU-1", "price": "9.90"}]}])
    purchase = added[0]["purchase_id"]
    w.drive_until(lambda: any(e["data"]["order"]["order_id"] == purchase
                              for e in w.outbox("order.imported", shop.integration_id)))


def _rotate(w: World, database_url: str, cipher: TokenCipher | None = None, *, batch: int = 2) -> Rotation:
    with psycopg.connect(database_url, autocommit=True) as conn:
        return rotate_tokens(conn, cipher or w.ctx.cipher, batch=batch)


def test_rotation_keeps_every_integration_verifying_polling_and_pushing_stock(
    fresh_database: str, sandbox: Sandbox
) -> None:
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    shops = [_shop(sandbox) for _ in range(3)]
    gone = _shop(sandbox)
    fast = {"rakuten_order_poll_interval_s": 0.2, "rakuten_stock_push_interval_s": 0.2}
    with world(fresh_database, sandbox, token_encryption_key=old_key, **fast) as before:
        before.apply(*(install(s.integration_id, s.account_id, s.login, s.token, stock_sync_enabled=True)
                       for s in [*shops, gone]))
        before.drive_until(lambda: all(before.outbox("integration.verified", s.integration_id)
                                       for s in [*shops, gone]))
        before.apply(event("integration.deleted", {
            "integration_id": gone.integration_id, "account_id": gone.account_id, "app": "rakuten"}))

    with world(fresh_database, sandbox, token_encryption_key=f"{new_key}, {old_key}", **fast) as both:
        _imports_a_new_sale(both, sandbox, shops[0])  # the old key, second in the list, still decrypts
        result = _rotate(both, fresh_database)
        assert (result.rotated, result.unreadable, result.changing) == (3, [], [])
        for shop in shops:
            blob = _stored(both, shop.integration_id)
            assert _opens_with(new_key, blob) == shop.token and _opens_with(old_key, blob) is None
        assert both.scalar("SELECT token_encrypted FROM integrations WHERE integration_id = %s",
                           gone.integration_id) is None

    with world(fresh_database, sandbox, token_encryption_key=new_key, **fast) as after:
        for shop in shops:
            _imports_a_new_sale(after, sandbox, shop)
        assert runbook.COMMANDS["reverify"](after.ctx.settings, argparse.Namespace(
            command="reverify", integration_id=shops[1].integration_id)) == 0
        after.drive_until(lambda: len(after.outbox("integration.verified", shops[1].integration_id)) == 2)
        after.apply(event("stock.changed",
                          {"account_id": shops[2].account_id, "sku": "SKU-1", "quantity": 42}))
        after.drive_until(lambda: sandbox.listings(shops[2].login) == {"SKU-1": 42})
        assert after.integration(shops[1].integration_id)["status"] == "verified"


class _UpdateDuringRotation(TokenCipher):
    """A cipher that lets the merchant change the token right after the rotation read it."""

    def __init__(self, inner: TokenCipher, on_first_rotate: Callable[[], None]) -> None:
        super().__init__(Fernet(Fernet.generate_key()))
        self.inner, self.hook = inner, on_first_rotate
        self.rotations = 0

    def rotate(self, blob: bytes) -> bytes:
        self.rotations += 1
        if self.rotations == 1:
            self.hook()
        return self.inner.rotate(blob)


def test_a_token_changed_while_it_is_rotated_keeps_its_new_value(
    fresh_database: str, sandbox: Sandbox
) -> None:
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    shop = _shop(sandbox)
    with world(fresh_database, sandbox, token_encryption_key=old_key) as before:
        before.apply(install(shop.integration_id, shop.account_id, shop.login, "first-token"))
    with world(fresh_database, sandbox, token_encryption_key=f"{new_key},{old_key}") as both:
        def merchant_edits() -> None:
            both.apply(event("integration.updated", {
                "integration_id": shop.integration_id, "account_id": shop.account_id, "app": "rakuten",
                "token": shop.token}))

        cipher = _UpdateDuringRotation(both.ctx.cipher, merchant_edits)
        result = _rotate(both, fresh_database, cipher)
        assert cipher.rotations == 2, "the changed token is read again and rotated"
        assert (result.rotated, result.changing) == (1, [])
        assert _opens_with(new_key, _stored(both, shop.integration_id)) == shop.token


def test_a_token_no_key_decrypts_is_reported_and_left_as_it_is(fresh_database: str, sandbox: Sandbox) -> None:
    lost_key, key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    lost, kept = _shop(sandbox), _shop(sandbox)
    with world(fresh_database, sandbox, token_encryption_key=lost_key) as before:
        before.apply(install(lost.integration_id, lost.account_id, lost.login, lost.token))
    with world(fresh_database, sandbox, token_encryption_key=key) as now:
        now.apply(install(kept.integration_id, kept.account_id, kept.login, kept.token))
        untouched = _stored(now, lost.integration_id)
        result = _rotate(now, fresh_database)
        assert (result.rotated, result.unreadable) == (1, [lost.integration_id])
        assert _stored(now, lost.integration_id) == untouched


def _cli(database_url: str, key: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "TOKEN_ENCRYPTION_KEY": key}
    return subprocess.run([sys.executable, "-m", "workers", "rotate-key", *args], capture_output=True,
                          text=True, env=env, timeout=60, check=False)


def test_the_rotate_key_command_says_what_it_did_and_fails_when_a_token_is_unreadable(
    fresh_database: str, sandbox: Sandbox
) -> None:
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    shops = [_shop(sandbox) for _ in range(3)]
    with world(fresh_database, sandbox, token_encryption_key=old_key) as before:
        before.apply(*(install(s.integration_id, s.account_id, s.login, s.token) for s in shops))

    done = _cli(fresh_database, f"{new_key},{old_key}", "--batch", "2")
    assert done.returncode == 0, done.stderr
    assert "re-encrypted 3 token(s)" in done.stdout

    too_early = _cli(fresh_database, Fernet.generate_key().decode())
    assert too_early.returncode == 1
    assert "3 token(s) cannot be decrypted" in too_early.stderr
    assert all(s.integration_id in too_early.stderr for s in shops)
    assert all(s.token not in too_early.stdout + too_early.stderr for s in shops)


@pytest.mark.parametrize("value", ["", "0"])
def test_the_rotate_key_batch_must_be_positive(value: str) -> None:
    result = subprocess.run([sys.executable, "-m", "workers", "rotate-key", "--batch", value],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2 and "--batch" in result.stderr
