"""The ingress's retry bounds, against real RabbitMQ and PostgreSQL.

A failure that looks transient but persists is dead-lettered after a bounded number
of attempts or seconds, and the events behind it go on; while the database does not
answer at all, nothing is charged to the events and nothing is dead-lettered.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from psycopg_pool import ConnectionPool

from events.inbound import InboundEvent
from events.ingress import Ingress
from tests.integration.test_ingress import (
    DEADLINE,
    Broker,
    RecordingHandler,
    TransientFailure,
    dead_letters,
    is_transient,
    stock_event,
    wait_for,
)


class Started:
    """An ingress with given bounds, running in a thread until the test ends."""

    def __init__(self, url: str, names: dict[str, str], handler: RecordingHandler,
                 database_answers: Callable[[], bool], **bounds: Any) -> None:
        self.stop = threading.Event()
        self.ingress = Ingress(url, names["exchange"], names["queue"], handler, is_transient=is_transient,
                               database_answers=database_answers, max_batch_wait=0.02, **bounds)
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
def broker(rabbitmq_url: str, amqp_names: dict[str, str]) -> Broker:
    return Broker(rabbitmq_url, amqp_names["exchange"], amqp_names["queue"])


@pytest.fixture
def start(rabbitmq_url: str, amqp_names: dict[str, str], handler: RecordingHandler
          ) -> Iterator[Callable[..., Started]]:
    started: list[Started] = []

    def start_ingress(database_answers: Callable[[], bool] = lambda: True, **bounds: Any) -> Started:
        started.append(Started(rabbitmq_url, amqp_names, handler, database_answers, **bounds))
        return started[-1]

    yield start_ingress
    for running in started:
        running.shut_down()


def stuck_on(sku: str) -> Callable[[Sequence[InboundEvent]], None]:
    """A handler step failing "transiently" whenever the batch holds an event for `sku`."""

    def fail(events: Sequence[InboundEvent]) -> None:
        if any(getattr(event.data, "sku", "") == sku for event in events):
            raise TransientFailure("the same deadlock, again")

    return fail


def test_an_event_failing_transiently_at_every_attempt_is_dead_lettered_after_its_attempts_others_applied(
    start: Callable[..., Started], broker: Broker, handler: RecordingHandler
) -> None:
    handler.before = stuck_on("STUCK")
    start(max_attempts=3, retry_window_s=600.0)
    good = [stock_event(sku=f"SKU-{n}") for n in range(6)]
    stuck = stock_event(sku="STUCK")

    broker.publish_events(good[:3] + [stuck] + good[3:])

    dead = dead_letters(broker, 1)
    wait_for(lambda: {e["id"] for e in good} <= set(handler.applied), "the events around it")
    (_, props, _body), = dead.values()
    assert props.headers["x-rejection-reason"].startswith("handler failed transiently 3 time(s) in ")
    assert props.headers["x-rejection-reason"].endswith(": TransientFailure")
    # the batch once, then the stuck event alone three times; each good one once more
    assert handler.seen.count(stuck["id"]) == 1 + 3
    assert all(handler.seen.count(e["id"]) <= 2 for e in good)
    wait_for(lambda: broker.depth(broker.queue) == 0, "the queue to be empty")


def test_an_event_failing_transiently_past_its_time_window_is_dead_lettered_whatever_its_attempts(
    start: Callable[..., Started], broker: Broker, handler: RecordingHandler
) -> None:
    handler.before = stuck_on("SLOW")
    start(max_attempts=1000, retry_window_s=1.0)
    stuck, behind = stock_event(sku="SLOW"), stock_event(sku="BEHIND")

    broker.publish_events([stuck])
    broker.publish_events([behind])

    (_, props, _body), = dead_letters(broker, 1).values()
    wait_for(lambda: behind["id"] in handler.applied, "the event behind it")
    assert props.headers["x-rejection-reason"].startswith("handler failed transiently ")
    assert handler.seen.count(stuck["id"]) < 10, "given up on after about a second, not 1000 attempts"


def test_while_the_database_does_not_answer_no_event_is_charged_or_dead_lettered(
    start: Callable[..., Started], broker: Broker, handler: RecordingHandler
) -> None:
    down = threading.Event()
    down.set()
    probes: list[bool] = []

    def outage(events: Sequence[InboundEvent]) -> None:
        if down.is_set():
            raise TransientFailure("connection refused")

    def database_answers() -> bool:
        probes.append(not down.is_set())
        return probes[-1]

    handler.before = outage
    # an outage costs an event the one attempt that found it, and its wait is not counted
    start(database_answers=database_answers, max_attempts=2, retry_window_s=0.5)
    ids = broker.publish_events([stock_event(quantity=n) for n in range(5)])

    # three probes are 1.5 s of waiting (0.5 s, then 1 s): three times the retry window
    wait_for(lambda: probes.count(False) >= 3, "the ingress to wait for the database")
    down.clear()

    wait_for(lambda: set(ids) <= set(handler.applied), "every event applied once the database is back")
    assert broker.depth(f"{broker.queue}.dead") == 0
    assert len(handler.seen) <= 2 * len(ids), "each event tried at most once during the outage"
