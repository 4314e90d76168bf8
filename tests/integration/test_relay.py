"""The outbox relay against real PostgreSQL and RabbitMQ."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pika
import psycopg
import pytest
from psycopg import sql
from psycopg_pool import ConnectionPool

from db import outbox
from db.migrate import migrate
from db.pool import open_pool
from events import PublishFailed, order_imported
from events.publisher import publish_events
from events.relay import OutboxRelay
from tests.fixtures.services import ServiceUrls, with_database

DEADLINE = 15.0  #: seconds to wait for messages


@pytest.fixture
def pool(service_urls: ServiceUrls) -> Iterator[ConnectionPool[Any]]:
    """A pool on a database of this test alone: the relay takes every unsent row."""
    name = f"rakuten_relay_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(service_urls.database, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = with_database(service_urls.database, name)
    with psycopg.connect(url) as conn:
        migrate(conn)
    pool = open_pool(url, max_size=4, name="relay-tests")
    yield pool
    pool.close()
    with psycopg.connect(service_urls.database, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))


@pytest.fixture
def channel(rabbitmq_url: str, amqp_names: dict[str, str]) -> Iterator[Any]:
    """A channel with the test's exchange and a queue bound to every routing key."""
    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq_url))
    ch = connection.channel()
    ch.exchange_declare(amqp_names["exchange"], exchange_type="topic", durable=True)
    ch.queue_declare(amqp_names["queue"], durable=True)
    ch.queue_bind(amqp_names["queue"], amqp_names["exchange"], routing_key="#")
    yield ch
    ch.queue_delete(amqp_names["queue"])
    ch.exchange_delete(amqp_names["exchange"])
    connection.close()


@pytest.fixture
def relay(rabbitmq_url: str, amqp_names: dict[str, str],
          pool: ConnectionPool[Any]) -> Iterator[OutboxRelay]:
    relay = OutboxRelay(rabbitmq_url, amqp_names["exchange"], pool, batch_size=50)
    yield relay
    relay.close()


def add_orders(pool: ConnectionPool[Any], count: int) -> list[dict[str, Any]]:
    events = [
        order_imported(integration_id="int-1", account_id="acc-1",
                       order={"order_id": str(uuid.uuid4()), "status": "new", "items": []})
        for _ in range(count)
    ]
    with pool.connection() as conn:
        for event in events:
            outbox.add_event(conn, event)
    return events


def unsent(pool: ConnectionPool[Any]) -> int:
    with pool.connection() as conn:
        return outbox.backlog(conn)[0]


def receive(channel: Any, queue: str, count: int) -> list[tuple[Any, Any, bytes]]:
    """Get `count` messages from `queue`, failing after the deadline."""
    received: list[tuple[Any, Any, bytes]] = []
    deadline = time.monotonic() + DEADLINE
    while len(received) < count:
        assert time.monotonic() < deadline, f"only {len(received)} of {count} messages arrived"
        method, props, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            channel.connection.sleep(0.02)
        else:
            received.append((method, props, body))
    return received


def queue_depth(channel: Any, queue: str) -> int:
    return int(channel.queue_declare(queue, passive=True).method.message_count)


def test_outbox_rows_become_persistent_cloudevent_messages_and_are_marked_sent(
    relay: OutboxRelay, pool: ConnectionPool[Any], channel: Any, amqp_names: dict[str, str]
) -> None:
    events = add_orders(pool, 120)

    assert relay.relay_pending() == 120

    messages = receive(channel, amqp_names["queue"], 120)
    assert unsent(pool) == 0
    assert [props.message_id for _, props, _ in messages] == [e["id"] for e in events]
    for (method, props, body), event in zip(messages, events, strict=True):
        assert method.routing_key == "order.imported"
        assert props.content_type == "application/cloudevents+json"
        assert props.delivery_mode == 2
        assert json.loads(body.decode("utf-8")) == event
    assert relay.relay_pending() == 0


def test_relay_stops_after_max_rows(
    relay: OutboxRelay, pool: ConnectionPool[Any], channel: Any, amqp_names: dict[str, str]
) -> None:
    add_orders(pool, 30)

    assert relay.relay_pending(max_rows=20) == 20

    assert unsent(pool) == 10
    receive(channel, amqp_names["queue"], 20)


def test_two_concurrent_relays_publish_each_row_once(
    rabbitmq_url: str, pool: ConnectionPool[Any], channel: Any, amqp_names: dict[str, str]
) -> None:
    events = add_orders(pool, 600)
    relays = [OutboxRelay(rabbitmq_url, amqp_names["exchange"], pool, batch_size=25)
              for _ in range(2)]
    counts: list[int] = []
    start = threading.Barrier(2)

    def run(relay: OutboxRelay) -> None:
        start.wait()
        counts.append(relay.relay_pending())

    threads = [threading.Thread(target=run, args=(r,)) for r in relays]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=DEADLINE)
    for relay in relays:
        relay.close()

    messages = receive(channel, amqp_names["queue"], 600)
    assert sum(counts) == 600
    assert sorted(props.message_id for _, props, _ in messages) == sorted(e["id"] for e in events)
    assert queue_depth(channel, amqp_names["queue"]) == 0
    assert unsent(pool) == 0


def test_unroutable_events_stay_unsent(
    relay: OutboxRelay, pool: ConnectionPool[Any], channel: Any, amqp_names: dict[str, str]
) -> None:
    channel.queue_unbind(amqp_names["queue"], amqp_names["exchange"], routing_key="#")
    add_orders(pool, 5)

    with pytest.raises(PublishFailed, match="unroutable"):
        relay.relay_pending()

    assert unsent(pool) == 5


def test_relay_whose_channel_is_closed_by_the_broker_keeps_rows_and_recovers(
    relay: OutboxRelay, pool: ConnectionPool[Any], channel: Any, amqp_names: dict[str, str]
) -> None:
    add_orders(pool, 1)
    assert relay.relay_pending() == 1
    receive(channel, amqp_names["queue"], 1)
    channel.exchange_delete(amqp_names["exchange"])
    add_orders(pool, 5)

    with pytest.raises(PublishFailed, match="closed"):
        relay.relay_pending()
    assert unsent(pool) == 5

    # the next call reconnects and declares the exchange again
    channel.exchange_declare(amqp_names["exchange"], exchange_type="topic", durable=True)
    channel.queue_bind(amqp_names["queue"], amqp_names["exchange"], routing_key="#")
    assert relay.relay_pending() == 5
    receive(channel, amqp_names["queue"], 5)
    assert unsent(pool) == 0


def test_publish_events_sends_cloudevents_with_the_contract_properties(
    rabbitmq_url: str, channel: Any, amqp_names: dict[str, str]
) -> None:
    event = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "inventory-service",
             "type": "stock.changed", "time": "2024-03-01T10:00:00Z",
             "data": {"account_id": "a", "sku": "s", "quantity": 1}}

    assert publish_events(rabbitmq_url, amqp_names["exchange"], [event]) == 1

    (method, props, body), = receive(channel, amqp_names["queue"], 1)
    assert method.routing_key == "stock.changed"
    assert (props.message_id, props.content_type, props.delivery_mode) == (
        event["id"], "application/cloudevents+json", 2)
    assert json.loads(body) == event
