"""The long-running parts, one per process: ingress, Dramatiq worker, scheduler.

Each opens its resources at boot, runs until SIGTERM or SIGINT, then stops
gracefully and closes them.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import dramatiq

from connectors.rakuten import RakutenClient
from events.ingress import Ingress
from events.relay import OutboxRelay
from workers.actors import DramatiqDispatcher, ProcessResources, declare_actors
from workers.boot import open_database
from workers.broker import setup_broker
from workers.context import Context, Dispatcher
from workers.crypto import TokenCipher
from workers.handlers import EventHandler, is_transient
from workers.scheduler import run_scheduler
from workers.settings import Settings
from workers.tasks import QUEUES

log = logging.getLogger(__name__)

#: seconds a worker waits for running actors at shutdown (orchestrators: allow more)
WORKER_STOP_TIMEOUT_S = 30


def stop_on_signals() -> threading.Event:
    """Return an event set by SIGTERM or SIGINT."""
    stop = threading.Event()

    def _stop(signum: int, _frame: object) -> None:
        log.info("received %s: stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    return stop


@contextmanager
def open_context(
    settings: Settings, dispatch: Dispatcher, *, pool_size: int, name: str, relay: bool = False
) -> Iterator[Context]:
    """Open the pool and the Rakuten client (and, with `relay`, the outbox relay); close them on exit."""
    pool = open_database(settings, max_size=pool_size, name=name)
    rakuten = RakutenClient(
        base_url=settings.rakuten.base_url, timeout=settings.rakuten.rakuten_http_timeout_s
    )
    # not mandatory: an event type nobody subscribes to yet must not block the outbox
    outbox_relay = (
        OutboxRelay(str(settings.broker.rabbitmq_url), settings.broker.events_exchange, pool, mandatory=False)
        if relay
        else None
    )
    cipher = TokenCipher(settings.require_token_key())
    try:
        yield Context(settings, pool, cipher, rakuten, dispatch, outbox_relay)
    finally:
        if outbox_relay is not None:
            outbox_relay.close()
        rakuten.close()
        pool.close()


def _sending_broker(settings: Settings, *, prometheus: bool = False) -> tuple[dramatiq.Broker, Dispatcher]:
    """The broker with the actors declared on it, and a dispatcher that sends to them."""
    broker = setup_broker(settings, prometheus=prometheus)
    declare_actors(broker)
    return broker, DramatiqDispatcher(broker)


def run_worker(settings: Settings, *, threads: int, queues: Sequence[str] = QUEUES) -> int:
    """Run Dramatiq worker threads on `queues` until stopped."""
    stop = stop_on_signals()
    broker, dispatch = _sending_broker(settings, prometheus=True)
    # each thread may hold a work connection while its lease heartbeat holds another
    pool_size = 2 * threads + 2
    resources = ProcessResources(
        lambda: open_context(settings, dispatch, pool_size=pool_size, name="rakuten-worker", relay=True)
    )
    broker.add_middleware(resources)
    broker.emit_after("process_boot")
    resources.check_opened()
    worker = dramatiq.Worker(broker, queues=set(queues), worker_threads=threads, worker_timeout=500)
    worker.queue_prefetch = threads  # no message waits behind a busy thread
    worker.start()
    log.info("worker started: %d thread(s) on %s", threads, ", ".join(sorted(queues)))
    stop.wait()
    worker.stop(timeout=WORKER_STOP_TIMEOUT_S * 1000)  # closes the resources once the actors ended
    broker.close()
    log.info("worker stopped")
    return 0


def run_ingress(settings: Settings) -> int:
    """Consume inbound events until stopped."""
    stop = stop_on_signals()
    broker, dispatch = _sending_broker(settings)
    with open_context(settings, dispatch, pool_size=4, name="rakuten-ingress") as ctx:
        handler = EventHandler(ctx.pool, ctx.cipher, ctx.dispatch)
        ingress = Ingress(
            str(settings.broker.rabbitmq_url),
            settings.broker.events_exchange,
            settings.broker.events_queue,
            handler,
            is_transient=is_transient,
            database_answers=handler.database_answers,
            max_attempts=settings.reliability.ingress_max_attempts,
            retry_window_s=settings.reliability.ingress_retry_window_s,
            on_ready=lambda: log.info("ingress consuming %r", settings.broker.events_queue),
        )
        ingress.run(stop)
    broker.close()
    return 0


def run_scheduler_process(settings: Settings) -> int:
    """Claim and dispatch due work until stopped."""
    stop = stop_on_signals()
    broker, dispatch = _sending_broker(settings)
    with open_context(settings, dispatch, pool_size=2, name="rakuten-scheduler") as ctx:
        run_scheduler(ctx, stop)
    broker.close()
    return 0
