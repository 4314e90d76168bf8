"""Settings: CONTRACT §3 defaults, validation, and one clear line for a bad value."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

from workers.settings import SettingsError, load_settings

CONTRACT_VARIABLES = (
    "DATABASE_URL",
    "RABBITMQ_URL",
    "EVENTS_EXCHANGE",
    "EVENTS_QUEUE",
    "RAKUTEN_BASE_URL",
    "RAKUTEN_ORDER_POLL_INTERVAL_S",
    "RAKUTEN_STOCK_PUSH_INTERVAL_S",
    "RAKUTEN_REPORT_POLL_INTERVAL_S",
    "RAKUTEN_TODO_POLL_INTERVAL_S",
    "RAKUTEN_CURRENT_SALES_LOOKBACK_DAYS",
    "METRICS_PORT",
    "METRICS_HOST",
    "LOG_FORMAT",
    "TOKEN_ENCRYPTION_KEY",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CONTRACT_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_defaults_are_the_contracts() -> None:
    s = load_settings()
    assert str(s.database.database_url) == "postgresql://postgres:postgres@localhost:5432/postgres"
    assert str(s.broker.rabbitmq_url) == "amqp://guest:guest@localhost:5672/%2F"
    assert (s.broker.events_exchange, s.broker.events_queue) == ("linkolis.events", "rakuten.inbox")
    assert s.broker.dead_letter_queue == "rakuten.inbox.dead"
    assert s.rakuten.base_url == "https://ws.fr.shopping.rakuten.com"
    assert (
        s.rakuten.rakuten_order_poll_interval_s,
        s.rakuten.rakuten_stock_push_interval_s,
        s.rakuten.rakuten_report_poll_interval_s,
    ) == (300, 360, 60)
    assert s.rakuten.rakuten_todo_poll_interval_s == 1800
    # long enough for claims (14 days after delivery) and payouts (23 days after the order)
    assert s.rakuten.rakuten_current_sales_lookback_days == 45
    assert (s.observability.metrics_port, s.observability.log_format) == (9191, "text")
    assert s.security.token_encryption_key is None


def test_environment_values_are_read_and_intervals_accept_fractions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAKUTEN_STOCK_PUSH_INTERVAL_S", "0.25")
    monkeypatch.setenv("LOG_FORMAT", "JSON")
    monkeypatch.setenv("METRICS_PORT", "0")
    s = load_settings()
    assert s.rakuten.rakuten_stock_push_interval_s == 0.25
    assert s.observability.log_format == "json" and s.observability.metrics_port == 0


def test_keyword_overrides_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTS_QUEUE", "from-env")
    assert load_settings(events_queue="from-test").broker.events_queue == "from-test"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "nonsense"),
        ("DATABASE_URL", "mysql://x@y/z"),
        ("RABBITMQ_URL", "http://localhost"),
        ("RAKUTEN_BASE_URL", "ftp://x"),
        ("RAKUTEN_ORDER_POLL_INTERVAL_S", "-1"),
        ("RAKUTEN_STOCK_PUSH_INTERVAL_S", "0"),
        ("RAKUTEN_REPORT_POLL_INTERVAL_S", "soon"),
        ("METRICS_PORT", "70000"),
        ("LOG_FORMAT", "xml"),
        ("TOKEN_ENCRYPTION_KEY", "not-a-key"),
    ],
)
def test_a_malformed_value_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert variable in str(caught.value)


def test_the_token_key_is_a_secret_and_its_value_never_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEY", key)
    s = load_settings()
    assert key not in repr(s) and key not in str(s)
    assert s.require_token_key().decrypt(s.require_token_key().encrypt(b"x")) == b"x"


def test_a_bad_key_is_not_echoed_in_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEY", "secret-but-wrong-value")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "secret-but-wrong-value" not in str(caught.value)


def test_several_keys_encrypt_with_the_first_and_decrypt_with_any() -> None:
    new, old = Fernet.generate_key(), Fernet.generate_key()
    keys = load_settings(token_encryption_key=f" {new.decode()} ,{old.decode()}").require_token_key()
    assert keys.decrypt(Fernet(old).encrypt(b"written before")) == b"written before"
    assert Fernet(new).decrypt(keys.encrypt(b"written now")) == b"written now"


@pytest.mark.parametrize(("value", "says"), [("{key},", "key 2 of 2 is empty"),
                                              ("{key},not-a-key", "key 2 of 2 is not a Fernet key")])
def test_a_bad_key_in_the_list_is_named_by_position_without_its_value(value: str, says: str) -> None:
    key = Fernet.generate_key().decode()
    with pytest.raises(SettingsError) as caught:
        load_settings(token_encryption_key=value.format(key=key))
    assert "TOKEN_ENCRYPTION_KEY" in str(caught.value) and says in str(caught.value)
    assert key not in str(caught.value) and "not-a-key" not in str(caught.value)


def test_the_settings_repr_never_shows_the_database_or_broker_password() -> None:
    s = load_settings(database_url="postgresql://app:db-s3cret@db.example:5432/rakuten",
                      rabbitmq_url="amqp://app:mq-s3cret@mq.example:5672/prod",
                      token_encryption_key=Fernet.generate_key().decode())
    for text in (repr(s), str(s), repr(s.database), str(s.broker), f"{s!r}"):
        assert "db-s3cret" not in text and "mq-s3cret" not in text
    assert "postgresql://app:***@db.example:5432/rakuten" in repr(s)
    assert "amqp://app:***@mq.example:5672/prod" in repr(s)
    assert str(s.database.database_url).endswith("db-s3cret@db.example:5432/rakuten"), "still usable"


def test_commands_that_need_the_key_say_so_when_it_is_missing() -> None:
    with pytest.raises(SettingsError, match="TOKEN_ENCRYPTION_KEY"):
        load_settings().require_token_key()


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in CONTRACT_VARIABLES}
    return subprocess.run(
        [sys.executable, "-m", "workers", *args],
        capture_output=True,
        text=True,
        env={**clean, **env},
        timeout=60,
    )


def test_migrate_with_a_nonsense_database_url_prints_one_line_naming_it_and_fails() -> None:
    result = _cli("migrate", DATABASE_URL="nonsense")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "DATABASE_URL" in lines[0]
    assert "Traceback" not in result.stderr


def test_migrate_against_a_server_that_does_not_answer_says_how_to_start_it() -> None:
    result = _cli("migrate", DATABASE_URL="postgresql://postgres:hunter2@127.0.0.1:9/x")
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr and "scripts/services.sh" in result.stderr
    assert "hunter2" not in result.stderr and "Traceback" not in result.stderr


def test_genkey_prints_a_working_fernet_key() -> None:
    result = _cli("genkey")
    assert result.returncode == 0
    Fernet(result.stdout.strip().encode())
