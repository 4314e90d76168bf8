"""Bad inbound data against the real `run`: what the database refuses holds back nothing behind it."""

from __future__ import annotations

import json
import secrets
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pika
import pytest

from connectors.rakuten.sandbox import Sandbox
from events.publisher import properties
from tests.e2e.helpers import installed, stock_changed, wait_until
from tests.e2e.reliability_helpers import System, started_system
from tests.fixtures.services import ServiceUrls, VhostFactory

pytestmark = pytest.mark.slow

VERIFIED_WITHIN_S = 10.0  #: seconds an install behind the bad events may take to be verified


@pytest.fixture
def system(service_urls: ServiceUrls, vhosts: VhostFactory, sandbox: Sandbox, tmp_path: Path
           ) -> Iterator[System]:
    with started_system(service_urls, vhosts, sandbox, tmp_path) as built:
        yield built


def unacknowledged(amqp_url: str, queue: str) -> int:
    """Messages of `queue` delivered to a consumer and not acknowledged yet."""
    vhost = unquote(urlsplit(amqp_url).path.lstrip("/")) or "/"
    listed = subprocess.run(
        ["rabbitmqctl", "-q", "list_queues", "-p", vhost, "--no-table-headers",
         "name", "messages_ready", "messages_unacknowledged"],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout
    for line in listed.splitlines():
        name, ready, unacked = line.split()
        if name == queue:
            return int(ready) + int(unacked)
    raise AssertionError(f"no queue {queue!r} in {listed!r}")


def publish_raw(amqp_url: str, exchange: str, events: list[dict[str, object]]) -> None:
    """Publish events as one burst, so the ingress takes them in one batch."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        for event in events:
            body = json.dumps(event).encode()
            # an AMQP message id is at most 255 bytes: the oversized event id is only in the body
            channel.basic_publish(exchange, str(event["type"]), body, properties(str(uuid.uuid4())))
    finally:
        connection.close()


def test_events_the_database_refuses_are_dead_lettered_while_an_install_behind_them_is_verified(
    system: System,
) -> None:
    login, token = f"shop-{secrets.token_hex(4)}", secrets.token_urlsafe(16)
    system.sandbox.add_seller(login, token)
    oversized_id = stock_changed("acc-bad", "SKU-1", 1) | {"id": secrets.token_hex(1500)}
    nul_sku = stock_changed("acc-bad", "nul\x00byte", 1)
    nul_name = installed("int-nul", "acc-bad", login, token, application_name="Ra\x00kuten")
    huge_quantity = stock_changed("acc-bad", "SKU-2", 10**30)
    huge_version = stock_changed("acc-bad", "SKU-3", 1, version=2**64)
    install = installed(f"int-{uuid.uuid4().hex[:8]}", "acc-good", login, token)
    good_stock = stock_changed("acc-good", "SKU-9", 4)
    bad = [oversized_id, nul_sku, nul_name, huge_quantity, huge_version]

    publish_raw(system.amqp_url, system.exchange, [*bad, install, good_stock])

    wait_until(lambda: system.query("SELECT status FROM integrations WHERE integration_id = %s",
                                    [install["data"]["integration_id"]]) == [("verified",)],
               "the install behind the bad events to be verified", timeout=VERIFIED_WITHIN_S)
    dead = "rakuten.inbox.dead"
    wait_until(lambda: unacknowledged(system.amqp_url, dead) == len(bad), "every bad event dead-lettered")
    assert system.query("SELECT quantity FROM stock_levels WHERE account_id = 'acc-good'") == [(4,)]
    assert unacknowledged(system.amqp_url, "rakuten.inbox") == 0, "nothing stays unacknowledged"
    reasons = dead_letter_reasons(system.amqp_url, dead)
    assert sorted(reasons) == sorted([
        "not a CloudEvent: id: String should have at most 256 characters",
        # the SKU travels in a binary array, so PostgreSQL itself refuses its NUL (class 22)
        "handler failed: CharacterNotInRepertoire (SQLSTATE 22021)",
        # the application name is a text parameter, which psycopg refuses before sending
        "handler failed: DataError",
        "invalid data: quantity: Input should be less than or equal to 2147483647",
        "invalid data: version: Input should be less than or equal to 9223372036854775807",
    ])
    assert system.query("SELECT count(*) FROM integrations WHERE integration_id = 'int-nul'") == [(0,)]


def dead_letter_reasons(amqp_url: str, queue: str) -> list[str]:
    """Read (and take) the dead letters; return their rejection reasons."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        reasons = []
        while (got := channel.basic_get(queue, auto_ack=True))[0] is not None:
            reasons.append(str(got[1].headers["x-rejection-reason"]))
        return reasons
    finally:
        connection.close()
