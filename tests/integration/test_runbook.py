"""The operator commands against real PostgreSQL and RabbitMQ (and the real ingress for dead letters)."""

from __future__ import annotations

import argparse
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pika
import psycopg
import pytest
from cryptography.fernet import Fernet
from psycopg import sql

from connectors.rakuten import RakutenClient
from connectors.rakuten.sandbox import Sandbox
from db import integrations, leases, outbox, schedule, stock, stock_imports
from db.migrate import migrate
from db.pool import open_pool
from events.inbound import InboundEvent
from events.ingress import Ingress
from events.topology import declare_topology
from tests.fixtures.sandbox import SellerAccount, refuse_credentials
from tests.fixtures.services import ServiceUrls, with_database
from workers import runbook, verification
from workers.claims import claim_now
from workers.context import Context
from workers.crypto import TokenCipher
from workers.settings import Settings, load_settings

DEADLINE = 20.0  #: seconds to wait for a condition
Conn = psycopg.Connection[Any]


@pytest.fixture
def database(service_urls: ServiceUrls) -> Iterator[str]:
    """A database of this test alone, so counts (outbox backlog, statuses) are exact."""
    name = f"rakuten_runbook_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(service_urls.database, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = with_database(service_urls.database, name)
    with psycopg.connect(url) as conn:
        migrate(conn)
    yield url
    with psycopg.connect(service_urls.database, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def settings(database: str, rabbitmq_url: str, amqp_names: dict[str, str]) -> Settings:
    """Settings on the test's database, with exchange and queue names of its own."""
    return load_settings(
        database_url=database,
        rabbitmq_url=rabbitmq_url,
        events_exchange=amqp_names["exchange"],
        events_queue=amqp_names["queue"],
        token_encryption_key=Fernet.generate_key().decode(),
    )


@pytest.fixture
def conn(database: str) -> Iterator[Conn]:
    with psycopg.connect(database, autocommit=True) as connection:
        yield connection


def run(command: str, settings: Settings, **options: Any) -> int:
    return runbook.COMMANDS[command](settings, argparse.Namespace(command=command, **options))


def add_integration(conn: Conn, *, status: str = "pending", stock_sync: bool = False,
                    account_id: str = "acc-1") -> str:
    """Store an integration and bring it to `status` through the real state changes."""
    integration_id = f"int-{uuid.uuid4().hex[:8]}"
    integrations.insert(conn, integration_id=integration_id, account_id=account_id,
                        application_name="Rakuten", seller_id="Shop", token_encrypted=b"secret",
                        stock_sync_enabled=stock_sync, auto_accept_orders=False, verify_lease_s=60)
    if status == "verified":
        integrations.record_verified(conn, integration_id, version=1, rakuten_seller_id="42")
    elif status in ("invalid_credentials", "insufficient_rights"):
        integrations.record_refused(conn, integration_id, version=1, status=status, detail="refused")
    elif status == "unavailable":
        integrations.record_unavailable(conn, integration_id, version=1, retry_in_s=3600,
                                        give_up=True, detail="down")
    elif status == "deleted":
        integrations.delete(conn, integration_id)
    return integration_id


def row(conn: Conn, integration_id: str) -> dict[str, Any]:
    cur = conn.execute(
        "SELECT status, verify_attempts, verify_due_at <= now() AS verify_due, "
        "orders_due_at <= now() AS orders_due, reconcile_due_at <= now() AS reconcile_due, "
        "status_detail FROM integrations WHERE integration_id = %s", (integration_id,))
    names = [column.name for column in cur.description or ()]
    found = cur.fetchone()
    assert found is not None
    return dict(zip(names, found, strict=True))


# --- status ---------------------------------------------------------------------------------


def test_status_json_reports_each_live_integration_the_outbox_backlog_and_the_dead_letters(
    conn: Conn, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    syncing = add_integration(conn, status="verified", stock_sync=True, account_id="acc-s")
    refused = add_integration(conn, status="invalid_credentials")
    deleted = add_integration(conn, status="deleted")
    now = datetime.now(UTC)
    stock.apply_changes(conn, [stock.StockChange("acc-s", sku, 3, None, now, f"e-{sku}")
                               for sku in ("A", "B", "C")])
    stock_imports.record_import(conn, syncing, rakuten_import_id="77", kind="changes",
                                lines=[("A", 3)], report_in_s=60)
    outbox.add_event(conn, {"id": "ev-1", "type": "order.imported", "data": {}})
    outbox.add_event(conn, {"id": "ev-2", "type": "order.imported", "data": {}})
    dead = f"{settings.broker.events_queue}.dead"
    publish_raw(str(settings.broker.rabbitmq_url), dead, [b"x", b"y"])

    assert run("status", settings, json=True) == 0

    report = json.loads(capsys.readouterr().out)
    shown = {entry["integration_id"]: entry for entry in report["integrations"]}
    assert set(shown) == {syncing, refused}, "deleted integrations are not listed"
    assert deleted not in shown
    assert shown[syncing]["status"] == "verified"
    assert shown[syncing]["stock_sync_enabled"] is True
    assert shown[syncing]["pending_skus"] == 3
    assert shown[syncing]["pending_imports"] == 1
    assert 0 <= shown[syncing]["poll_lag_s"] < 60
    assert shown[refused]["status"] == "invalid_credentials"
    assert shown[refused]["poll_lag_s"] is None
    assert shown[refused]["pending_skus"] == 0
    assert report["integrations_by_status"] == {"verified": 1, "invalid_credentials": 1, "deleted": 1}
    assert report["outbox"]["backlog"] == 2
    assert report["outbox"]["oldest_age_s"] >= 0
    assert report["dead_letters"] == 2
    assert report["broker_error"] is None


def test_status_text_names_integrations_stopped_ones_detail_and_the_dead_letter_depth(
    conn: Conn, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    verified = add_integration(conn, status="verified")
    refused = add_integration(conn, status="insufficient_rights")
    publish_raw(str(settings.broker.rabbitmq_url), f"{settings.broker.events_queue}.dead", [b"x"])

    assert run("status", settings, json=False) == 0

    out = capsys.readouterr().out
    lines = out.splitlines()
    assert any(line.startswith(verified) and "verified" in line for line in lines)
    assert any(line.startswith(refused) and "insufficient_rights" in line for line in lines)
    assert f"  {refused}: refused" in lines
    assert "outbox: 0 event(s) not yet published" in lines
    assert f"dead letters: 1 in {settings.broker.events_queue}.dead" in lines


def test_status_still_shows_the_database_part_and_fails_when_rabbitmq_is_unreachable(
    conn: Conn, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    integration_id = add_integration(conn, status="verified")
    down = settings.model_copy(update={"broker": settings.broker.model_copy(
        update={"rabbitmq_url": "amqp://guest:guest@127.0.0.1:1/%2F"})})

    assert run("status", down, json=True) == 1

    report = json.loads(capsys.readouterr().out)
    assert [entry["integration_id"] for entry in report["integrations"]] == [integration_id]
    assert report["broker_error"].startswith("RabbitMQ unreachable")
    assert report["dead_letters"] is None


# --- reverify, poll, resync-stock -------------------------------------------------------------


@pytest.mark.parametrize("status", ["invalid_credentials", "insufficient_rights", "unavailable", "verified"])
def test_reverify_makes_a_verification_due_now_with_attempts_reset(
    conn: Conn, settings: Settings, status: str
) -> None:
    integration_id = add_integration(conn, status=status)
    assert row(conn, integration_id)["status"] == status

    assert run("reverify", settings, integration_id=integration_id) == 0

    after = row(conn, integration_id)
    assert after["status"] == "pending"
    assert after["verify_attempts"] == 0
    assert after["status_detail"] is None
    assert after["verify_due"] is True
    assert after["orders_due"] is None, "nothing is polled until the outcome"
    claimed = schedule.claim_verifications(conn, lease_s=60, limit=10)
    assert [key for key, _ in claimed] == [integration_id], "the scheduler's next tick sends the verification"


class NoDispatch:
    """Stands for the Dramatiq dispatcher: the test runs the use cases itself."""

    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args: None


def test_reverify_after_verified_then_refused_publishes_verified_again(
    database: str, conn: Conn, settings: Settings, sandbox: Sandbox,
    make_seller: Callable[..., SellerAccount],
) -> None:
    seller = make_seller()
    cipher = TokenCipher(settings.require_token_key())
    integration_id = f"int-{uuid.uuid4().hex[:8]}"
    token = integrations.insert(conn, integration_id=integration_id, account_id="acc-1",
                                application_name="Rakuten", seller_id=seller.login,
                                token_encrypted=cipher.encrypt(seller.token), stock_sync_enabled=False,
                                auto_accept_orders=False, verify_lease_s=60)
    pool = open_pool(database, max_size=2, name="runbook-tests")
    rakuten = RakutenClient(base_url=sandbox.url, timeout=5)
    ctx = Context(settings, pool, cipher, rakuten, NoDispatch())
    try:
        assert verification.verify_integration(ctx, integration_id, token) == "verified"
        # e.g. Rakuten answered "Unknown user or password." during an incident, twice: to an
        # order poll, then to the verification that confirms such a refusal
        refuse_credentials(sandbox, seller.login, count=1, actions=["getnewsales"])
        assert integrations.request_verification(conn, integration_id)
        refused = claim_now(ctx, leases.VERIFY, [integration_id])
        assert verification.verify_integration(ctx, integration_id, refused) == "invalid_credentials"

        assert run("reverify", settings, integration_id=integration_id) == 0
        again = claim_now(ctx, leases.VERIFY, [integration_id])
        assert verification.verify_integration(ctx, integration_id, again) == "verified"
    finally:
        rakuten.close()
        pool.close()

    published = [row[0] for row in conn.execute(
        "SELECT event_type FROM outbox ORDER BY id")]
    assert published == ["integration.verified", "integration.verification_failed",
                         "integration.verified"], "the last outcome is published, not swallowed"


def test_reverify_refuses_a_deleted_integration_and_changes_nothing(
    conn: Conn, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    integration_id = add_integration(conn, status="deleted")

    assert run("reverify", settings, integration_id=integration_id) == 1

    assert "is deleted" in capsys.readouterr().err
    assert row(conn, integration_id)["status"] == "deleted"
    assert schedule.claim_verifications(conn, lease_s=60, limit=10) == []


def test_reverify_refuses_an_integration_without_a_token(
    conn: Conn, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    integration_id = add_integration(conn, status="invalid_credentials")
    conn.execute("UPDATE integrations SET token_encrypted = NULL WHERE integration_id = %s",
                 (integration_id,))

    assert run("reverify", settings, integration_id=integration_id) == 1

    assert "has no token" in capsys.readouterr().err
    assert row(conn, integration_id)["status"] == "invalid_credentials"


@pytest.mark.parametrize("command", ["reverify", "poll", "resync-stock"])
def test_commands_on_an_unknown_integration_fail_with_a_message(
    settings: Settings, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    assert run(command, settings, integration_id="no-such-integration") == 1
    assert "no integration 'no-such-integration'" in capsys.readouterr().err


def test_poll_makes_a_verified_integrations_order_poll_due_now(conn: Conn, settings: Settings) -> None:
    integration_id = add_integration(conn, status="verified")
    assert schedule.claim_order_polls(conn, lease_s=300, limit=10) == [(integration_id, 1)]
    assert row(conn, integration_id)["orders_due"] is False, "claimed: due again in a lease"

    assert run("poll", settings, integration_id=integration_id) == 0

    assert row(conn, integration_id)["orders_due"] is True
    assert schedule.claim_order_polls(conn, lease_s=300, limit=10) == [(integration_id, 2)]


@pytest.mark.parametrize("status", ["pending", "invalid_credentials", "deleted"])
def test_poll_refuses_an_integration_that_is_not_verified(
    conn: Conn, settings: Settings, capsys: pytest.CaptureFixture[str], status: str
) -> None:
    integration_id = add_integration(conn, status=status)

    assert run("poll", settings, integration_id=integration_id) == 1

    assert f"is {status}" in capsys.readouterr().err
    assert schedule.claim_order_polls(conn, lease_s=300, limit=10) == []


def test_resync_stock_makes_a_full_resend_due_now(conn: Conn, settings: Settings) -> None:
    integration_id = add_integration(conn, status="verified", stock_sync=True, account_id="acc-r")
    assert schedule.claim_reconciliations(conn, every_s=86400, limit=10) == [integration_id]
    assert row(conn, integration_id)["reconcile_due"] is False

    assert run("resync-stock", settings, integration_id=integration_id) == 0

    assert row(conn, integration_id)["reconcile_due"] is True
    assert schedule.claim_reconciliations(conn, every_s=86400, limit=10) == [integration_id]


@pytest.mark.parametrize(("status", "stock_sync", "reason"), [
    ("verified", False, "stock sync off"),
    ("invalid_credentials", True, "is invalid_credentials"),
    ("deleted", True, "is deleted"),
])
def test_resync_stock_refuses_without_stock_sync_or_verification(
    conn: Conn, settings: Settings, capsys: pytest.CaptureFixture[str],
    status: str, stock_sync: bool, reason: str,
) -> None:
    integration_id = add_integration(conn, status=status, stock_sync=stock_sync)
    conn.execute("UPDATE integrations SET reconcile_due_at = NULL WHERE integration_id = %s",
                 (integration_id,))

    assert run("resync-stock", settings, integration_id=integration_id) == 1

    assert reason in capsys.readouterr().err
    assert row(conn, integration_id)["reconcile_due"] is None


# --- replay-dead-letters --------------------------------------------------------------------


def publish_raw(url: str, queue: str, bodies: Sequence[bytes], *, exchange: str = "",
                headers: dict[str, Any] | None = None, routing_key: str | None = None) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.queue_declare(queue, durable=True)
    channel.confirm_delivery()
    for body in bodies:
        channel.basic_publish(exchange, routing_key or queue, body, pika.BasicProperties(
            delivery_mode=2, message_id=str(uuid.uuid4()), headers=headers))
    connection.close()


def depth(url: str, queue: str) -> int:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    count = connection.channel().queue_declare(queue, passive=True).method.message_count
    connection.close()
    return int(count)


def drain(url: str, queue: str) -> list[tuple[Any, Any, bytes]]:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    messages = []
    while (got := channel.basic_get(queue, auto_ack=True))[0] is not None:
        messages.append(got)
    connection.close()
    return messages


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def stock_event(sku: str) -> dict[str, Any]:
    return {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "inventory-service",
            "type": "stock.changed", "time": "2024-03-01T10:00:00Z",
            "data": {"account_id": "acc-1", "sku": sku, "quantity": 1}}


class SwitchableHandler:
    """A handler that fails for good while `broken` is set, and records what it applied."""

    def __init__(self) -> None:
        self.broken = True
        self.applied: list[str] = []

    def __call__(self, events: Sequence[InboundEvent]) -> None:
        if self.broken:
            raise RuntimeError("cannot apply")
        self.applied.extend(event.id for event in events)


@pytest.fixture
def ingress(settings: Settings) -> Iterator[SwitchableHandler]:
    """The real ingress on the test's exchange and queue, in a thread."""
    handler = SwitchableHandler()
    stop = threading.Event()
    consumer = Ingress(str(settings.broker.rabbitmq_url), settings.broker.events_exchange,
                       settings.broker.events_queue, handler, is_transient=lambda exc: False,
                       max_batch_wait=0.02)
    thread = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    thread.start()
    assert consumer.ready.wait(DEADLINE), "the ingress did not start"
    yield handler
    stop.set()
    thread.join(DEADLINE)


def publish_events(settings: Settings, events: Sequence[dict[str, Any]], *, extra: bytes = b"") -> None:
    connection = pika.BlockingConnection(pika.URLParameters(str(settings.broker.rabbitmq_url)))
    channel = connection.channel()
    channel.confirm_delivery()
    messages = [(e["type"], json.dumps(e).encode(), e["id"]) for e in events]
    if extra:
        messages.append(("stock.changed", extra, "not-json"))
    for routing_key, body, message_id in messages:
        channel.basic_publish(settings.broker.events_exchange, routing_key, body, pika.BasicProperties(
            content_type="application/cloudevents+json", delivery_mode=2, message_id=message_id,
            headers={"x-trace": "t1"}), mandatory=True)
    connection.close()


def test_replay_moves_dead_letters_back_with_their_routing_key_body_and_properties(
    settings: Settings, ingress: SwitchableHandler, capsys: pytest.CaptureFixture[str]
) -> None:
    url, dead = str(settings.broker.rabbitmq_url), f"{settings.broker.events_queue}.dead"
    events = [stock_event(f"SKU-{n}") for n in range(3)]
    publish_events(settings, events, extra=b"not json")
    wait_for(lambda: depth(url, dead) == 4, "the ingress to dead-letter 4 messages")
    spy = f"spy.{uuid.uuid4().hex[:8]}"
    connection = pika.BlockingConnection(pika.URLParameters(url))
    connection.channel().queue_declare(spy, auto_delete=True)
    connection.channel().queue_bind(spy, settings.broker.events_exchange, routing_key="#")
    connection.close()
    ingress.broken = False

    assert run("replay-dead-letters", settings, limit=0) == 0

    assert "moved 4 dead letter(s)" in capsys.readouterr().out
    wait_for(lambda: len(ingress.applied) == 3, "the replayed events to be applied")
    assert sorted(ingress.applied) == sorted(e["id"] for e in events)
    wait_for(lambda: depth(url, dead) == 1, "the still-bad message to be dead-lettered again")
    (_, props, body), = drain(url, dead)
    assert body == b"not json"
    assert props.headers["x-rejection-reason"]
    replayed = drain(url, spy)
    assert len(replayed) == 4
    for method, props, _ in replayed:
        assert method.routing_key == "stock.changed"
        assert props.content_type == "application/cloudevents+json"
        assert props.delivery_mode == 2
        assert props.headers == {"x-trace": "t1"}, "the dead-letter headers are removed"
    by_id = {props.message_id: body for _, props, body in replayed}
    assert by_id == {**{e["id"]: json.dumps(e).encode() for e in events}, "not-json": b"not json"}


def test_replay_with_a_limit_moves_only_that_many(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    url, broker = str(settings.broker.rabbitmq_url), settings.broker
    declare(url, broker.events_exchange, broker.events_queue)
    headers = {"x-rejection-reason": "handler failed", "x-original-routing-key": "stock.changed"}
    publish_raw(url, f"{broker.events_queue}.dead", [b"1", b"2", b"3"], headers=headers)

    assert run("replay-dead-letters", settings, limit=2) == 0

    assert "moved 2 dead letter(s)" in capsys.readouterr().out
    assert depth(url, f"{broker.events_queue}.dead") == 1
    assert [body for _, _, body in drain(url, broker.events_queue)] == [b"1", b"2"]


def test_replay_leaves_dead_letters_it_cannot_route_in_place(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    url, broker = str(settings.broker.rabbitmq_url), settings.broker
    dead = f"{broker.events_queue}.dead"
    declare(url, broker.events_exchange, broker.events_queue)
    publish_raw(url, dead, [b"no header"], headers={"x-rejection-reason": "r"})
    publish_raw(url, dead, [b"unbound"], headers={"x-original-routing-key": "nobody.listens"})
    publish_raw(url, dead, [b"good"], headers={"x-original-routing-key": "integration.deleted"})

    assert run("replay-dead-letters", settings, limit=0) == 0

    out = capsys.readouterr().out
    assert "moved 1 dead letter(s)" in out
    assert "left 2 in place" in out
    assert sorted(body for _, _, body in drain(url, dead)) == [b"no header", b"unbound"]
    assert [body for _, _, body in drain(url, broker.events_queue)] == [b"good"]


def test_replay_without_a_dead_letter_queue_moves_nothing(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("replay-dead-letters", settings, limit=0) == 0
    assert "moved 0 dead letter(s)" in capsys.readouterr().out


def declare(url: str, exchange: str, queue: str) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    declare_topology(connection.channel(), exchange, queue)
    connection.close()
