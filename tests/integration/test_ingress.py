"""The ingress against real RabbitMQ and PostgreSQL: batches, dead letters, retries, restarts."""

from __future__ import annotations

import json
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

import pika
import pika.exceptions
import psycopg
import pytest
from psycopg_pool import ConnectionPool

from db import inbox
from events.inbound import InboundEvent
from events.ingress import Ingress
from events.topology import declare_topology
from tests.fixtures.services import VhostFactory

DEADLINE = 20.0  #: seconds to wait for a condition


class TransientFailure(Exception):
    """Stands for a database outage."""


class PoisonEvent(Exception):
    """Stands for an event the handler can never apply."""


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, TransientFailure | psycopg.OperationalError)


class RecordingHandler:
    """Applies events like the real handler (inbox dedupe in one transaction) and records them."""

    def __init__(self, pool: ConnectionPool[Any]) -> None:
        self.pool = pool
        self.lock = threading.Lock()
        self.applied: list[str] = []
        self.seen: list[str] = []
        self.calls = 0
        self.before: Callable[[Sequence[InboundEvent]], None] = lambda events: None

    def __call__(self, events: Sequence[InboundEvent]) -> None:
        with self.lock:
            self.calls += 1
            self.seen.extend(event.id for event in events)
        self.before(events)
        with self.pool.connection() as conn, conn.transaction():
            new = inbox.record_new(conn, [(event.id, event.type) for event in events])
        with self.lock:
            self.applied.extend(event.id for event in events if event.id in new)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def stock_event(**data: Any) -> dict[str, Any]:
    return {
        "specversion": "1.0", "id": str(uuid.uuid4()), "source": "inventory-service",
        "type": "stock.changed", "time": "2024-03-01T10:00:00Z",
        "data": {"account_id": "acc-1", "sku": "SKU-1", "quantity": 1, **data},
    }


class Broker:
    """Publishes raw messages and reads queues, on its own connection per call."""

    def __init__(self, url: str, exchange: str, queue: str) -> None:
        self.url, self.exchange, self.queue = url, exchange, queue

    def publish(self, *messages: tuple[str, bytes, str | None]) -> list[str]:
        """Publish (routing key, body, content type) triples; return their message ids."""
        ids = []
        connection = pika.BlockingConnection(pika.URLParameters(self.url))
        channel = connection.channel()
        channel.confirm_delivery()
        for routing_key, body, content_type in messages:
            ids.append(str(uuid.uuid4()))
            props = pika.BasicProperties(content_type=content_type, delivery_mode=2,
                                         message_id=ids[-1], headers={"x-trace": "t1"})
            channel.basic_publish(self.exchange, routing_key, body, props, mandatory=True)
        connection.close()
        return ids

    def publish_events(self, events: list[dict[str, Any]]) -> list[str]:
        self.publish(*[(e["type"], json.dumps(e).encode(), "application/cloudevents+json")
                       for e in events])
        return [e["id"] for e in events]

    def drain(self, queue: str) -> list[tuple[Any, Any, bytes]]:
        connection = pika.BlockingConnection(pika.URLParameters(self.url))
        channel = connection.channel()
        messages = []
        while (got := channel.basic_get(queue, auto_ack=True))[0] is not None:
            messages.append(got)
        connection.close()
        return messages

    def depth(self, queue: str) -> int:
        connection = pika.BlockingConnection(pika.URLParameters(self.url))
        count = connection.channel().queue_declare(queue, passive=True).method.message_count
        connection.close()
        return int(count)


class Running:
    """An ingress running in a thread, stopped and joined at the end of the test."""

    def __init__(self, url: str, names: dict[str, str], handler: RecordingHandler) -> None:
        self.stop = threading.Event()
        self.ingress = Ingress(url, names["exchange"], names["queue"], handler,
                               is_transient=is_transient, max_batch_wait=0.02)
        self.thread = threading.Thread(target=self.ingress.run, args=(self.stop,), daemon=True)
        self.thread.start()
        assert self.ingress.ready.wait(DEADLINE), "the ingress did not start"

    def shut_down(self) -> None:
        self.stop.set()
        self.thread.join(DEADLINE)
        assert not self.thread.is_alive(), "the ingress did not stop"


@pytest.fixture
def handler(db_pool: ConnectionPool[Any]) -> RecordingHandler:
    return RecordingHandler(db_pool)


@pytest.fixture
def start(rabbitmq_url: str, amqp_names: dict[str, str],
          handler: RecordingHandler) -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def start_ingress(url: str = rabbitmq_url) -> Running:
        started.append(Running(url, amqp_names, handler))
        return started[-1]

    yield start_ingress
    for running in started:
        running.shut_down()


@pytest.fixture
def broker(rabbitmq_url: str, amqp_names: dict[str, str]) -> Broker:
    return Broker(rabbitmq_url, amqp_names["exchange"], amqp_names["queue"])


def dead_letters(broker: Broker, count: int) -> dict[str, tuple[Any, Any, bytes]]:
    """Wait for `count` dead letters and return them by message id."""
    dead = f"{broker.queue}.dead"
    wait_for(lambda: broker.depth(dead) >= count, f"{count} dead letters")
    return {props.message_id: (method, props, body) for method, props, body in broker.drain(dead)}


def test_each_kind_of_bad_message_is_dead_lettered_while_valid_ones_are_applied(
    start: Callable[..., Running], broker: Broker, handler: RecordingHandler
) -> None:
    start()
    unknown = stock_event() | {"type": "order.imported"}
    bad: list[tuple[str, bytes, str | None, str]] = [
        ("stock.changed", b"{not json", None, "not UTF-8 JSON"),
        ("stock.changed", b'{"hello": "world"}', None, "not a CloudEvent"),
        ("stock.changed", json.dumps(unknown).encode(), None, "unknown event type"),
        ("stock.changed", b" " * (1024 * 1024 + 1), None, "larger than"),
        ("stock.changed", json.dumps(stock_event(quantity=-3)).encode(), None,
         "invalid data: quantity"),
        ("stock.changed", json.dumps(stock_event()).encode(), "text/plain", "content type"),
    ]
    valid = [stock_event(), stock_event()]
    bad_ids = broker.publish(*[(key, body, ctype) for key, body, ctype, _ in bad])
    valid_ids = broker.publish_events(valid)

    wait_for(lambda: set(valid_ids) <= set(handler.applied), "the valid events")
    dead = dead_letters(broker, len(bad))

    assert set(dead) == set(bad_ids)
    for message_id, (key, body, ctype, reason) in zip(bad_ids, bad, strict=True):
        _, props, dead_body = dead[message_id]
        assert reason in props.headers["x-rejection-reason"]
        assert props.headers["x-original-routing-key"] == key
        assert props.headers["x-trace"] == "t1"
        assert props.delivery_mode == 2
        assert props.content_type == ctype
        assert dead_body == body
    assert not set(bad_ids) & set(handler.seen)


def test_handler_failing_transiently_twice_then_succeeding_loses_and_dead_letters_nothing(
    start: Callable[..., Running], broker: Broker, handler: RecordingHandler
) -> None:
    failures = iter([TransientFailure("db down"), TransientFailure("db still down")])

    def fail_twice(events: Sequence[InboundEvent]) -> None:
        if (failure := next(failures, None)) is not None:
            raise failure

    handler.before = fail_twice
    running = start()
    ids = broker.publish_events([stock_event(quantity=n) for n in range(10)])

    wait_for(lambda: set(ids) <= set(handler.applied), "all events applied")
    running.shut_down()

    assert sorted(handler.applied) == sorted(ids)
    assert handler.calls >= 3
    assert broker.depth(broker.queue) == 0
    assert broker.depth(f"{broker.queue}.dead") == 0


def test_non_transient_handler_error_dead_letters_only_that_event(
    start: Callable[..., Running], broker: Broker, handler: RecordingHandler
) -> None:
    def refuse_poison(events: Sequence[InboundEvent]) -> None:
        if any(getattr(event.data, "sku", "") == "POISON" for event in events):
            raise PoisonEvent("sku POISON with a detail that must not leak")

    handler.before = refuse_poison
    good = [stock_event(sku=f"SKU-{n}") for n in range(6)]
    poison = stock_event(sku="POISON")
    running = start()
    ids = broker.publish_events(good[:3] + [poison] + good[3:])

    dead = dead_letters(broker, 1)
    wait_for(lambda: {e["id"] for e in good} <= set(handler.applied), "the good events")
    running.shut_down()

    (_, props, body), = dead.values()
    assert props.headers["x-rejection-reason"] == "handler failed: PoisonEvent"
    assert json.loads(body)["id"] == poison["id"]
    assert poison["id"] not in handler.applied
    assert len(ids) == 7 and broker.depth(broker.queue) == 0


def test_events_of_another_app_are_acknowledged_and_not_handed_over(
    start: Callable[..., Running], broker: Broker, handler: RecordingHandler
) -> None:
    other = {
        "specversion": "1.0", "id": str(uuid.uuid4()), "source": "install-service",
        "type": "integration.installed", "time": "2024-03-01T10:00:00Z",
        "data": {"integration_id": "int-9", "account_id": "acc-1", "app": "amazon"},
    }
    running = start()
    ids = broker.publish_events([other, stock_event()])

    wait_for(lambda: ids[1] in handler.applied, "the event behind it")
    running.shut_down()

    assert other["id"] not in handler.seen
    assert broker.depth(broker.queue) == 0
    assert broker.depth(f"{broker.queue}.dead") == 0


def close_connections(url: str) -> None:
    vhost = unquote(urlsplit(url).path[1:])
    subprocess.run(["rabbitmqctl", "-q", "close_all_connections", "--vhost", vhost, "test"],
                   check=True, capture_output=True, timeout=60)


def test_ingress_resumes_after_its_connection_is_force_closed_and_loses_nothing(
    vhosts: VhostFactory, amqp_names: dict[str, str], handler: RecordingHandler
) -> None:
    url = vhosts.new()
    if url == vhosts.base_url:
        pytest.fail("this test needs rabbitmqctl on the broker's host to close connections")
    broker = Broker(url, amqp_names["exchange"], amqp_names["queue"])
    entered, release = threading.Event(), threading.Event()

    def hold_first_batch(events: Sequence[InboundEvent]) -> None:
        if not release.is_set():
            entered.set()
            assert release.wait(DEADLINE)

    handler.before = hold_first_batch
    running = Running(url, amqp_names, handler)
    try:
        first = broker.publish_events([stock_event(quantity=n) for n in range(20)])
        assert entered.wait(DEADLINE), "the handler was not called"
        close_connections(url)
        release.set()
        second = broker.publish_events([stock_event(quantity=n) for n in range(20)])

        wait_for(lambda: set(first + second) <= set(handler.applied), "every event applied")
    finally:
        release.set()
        running.shut_down()

    assert sorted(handler.applied) == sorted(first + second)
    assert len(handler.seen) > len(set(handler.seen)), "the unacked batch was redelivered"
    assert broker.depth(broker.queue) == 0


def test_ingress_declares_its_queue_again_when_the_queue_is_deleted(
    start: Callable[..., Running], broker: Broker, handler: RecordingHandler
) -> None:
    start()
    connection = pika.BlockingConnection(pika.URLParameters(broker.url))
    connection.channel().queue_delete(broker.queue)
    connection.close()

    def bound_again() -> bool:
        try:
            return len(broker.publish_events([stock_event()])) == 1
        except pika.exceptions.UnroutableError:
            return False

    wait_for(bound_again, "the queue to be declared and bound again")
    later = broker.publish_events([stock_event()])
    wait_for(lambda: later[0] in handler.applied, "an event published after the deletion")


def test_stop_finishes_the_current_batch_acknowledges_it_and_leaves_the_rest_queued(
    rabbitmq_url: str, amqp_names: dict[str, str], broker: Broker, handler: RecordingHandler
) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq_url))
    declare_topology(connection.channel(), amqp_names["exchange"], amqp_names["queue"])
    connection.close()
    ids = broker.publish_events([stock_event(quantity=n) for n in range(5)])
    entered, release = threading.Event(), threading.Event()

    def hold(events: Sequence[InboundEvent]) -> None:
        entered.set()
        assert release.wait(DEADLINE)

    handler.before = hold
    running = Running(rabbitmq_url, amqp_names, handler)
    assert entered.wait(DEADLINE), "the handler was not called"

    running.stop.set()
    release.set()
    running.shut_down()

    assert handler.applied and set(handler.applied) <= set(ids)
    assert broker.depth(broker.queue) == len(ids) - len(handler.applied)


def test_idle_ingress_stops_promptly(start: Callable[..., Running]) -> None:
    running = start()
    began = time.monotonic()

    running.shut_down()

    assert time.monotonic() - began < 2.0
