"""Worker processes for figure 5: ingress consumers and order importers, started with `spawn`.

Each child builds its resources (pool, connections) itself, sets `ready`, waits
for `go` so that the clock starts only when every child is set up, works, and
stops when `stop` is set (ingress) or when its work is done (import).
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from collections.abc import Callable, Sequence
from multiprocessing.context import SpawnProcess
from multiprocessing.queues import Queue
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event
from types import TracebackType
from typing import Any

from bench.dispatch import NullDispatcher
from bench.worker import connector
from db import leases
from db.pool import open_pool
from events.inbound import InboundEvent
from events.ingress import Ingress
from workers import orders
from workers.claims import claim_now
from workers.crypto import TokenCipher
from workers.handlers import EventHandler, is_transient
from workers.settings import load_settings

START_TIMEOUT_S = 60.0  #: seconds for every child to be ready
STOP_TIMEOUT_S = 30.0  #: seconds a child may take to stop before it is terminated
SPAWN = multiprocessing.get_context("spawn")


def ingress_child(
    ready: Event, go: Event, stop: Event, settings_kw: dict[str, Any], applied: Synchronized[int]
) -> None:
    """Consume the inbox with the real ingress and handler, counting applied events in `applied`."""
    logging.basicConfig(level=logging.WARNING)
    settings = load_settings(**settings_kw)
    pool = open_pool(str(settings.database.database_url), max_size=2, name="bench-ingress")
    handler = EventHandler(pool, TokenCipher(settings.require_token_key()), NullDispatcher())

    def counting(events: Sequence[InboundEvent]) -> None:
        handler(events)
        with applied.get_lock():
            applied.value += len(events)

    broker = settings.broker
    ingress = Ingress(str(broker.rabbitmq_url), broker.events_exchange, broker.events_queue, counting,
                      is_transient=is_transient)
    local_stop = threading.Event()  # what `Ingress.run` expects; mirrors `stop`

    def mirror() -> None:
        stop.wait()
        local_stop.set()

    threading.Thread(target=mirror, daemon=True).start()
    ready.set()
    go.wait()
    try:
        ingress.run(local_stop)
    finally:
        pool.close()


def import_child(
    ready: Event, go: Event, stop: Event, settings_kw: dict[str, Any], sandbox_url: str,
    integration_ids: list[str], results: Queue[float],
) -> None:
    """Import the orders of `integration_ids` one after the other; put the seconds in `results`."""
    logging.basicConfig(level=logging.WARNING)
    settings = load_settings(**settings_kw)
    with connector(settings, sandbox_url) as (ctx, dispatch):
        ready.set()
        go.wait()
        started = time.perf_counter()
        for integration_id in integration_ids:
            orders.import_orders(ctx, integration_id, claim_now(ctx, leases.ORDERS, [integration_id]))
        dispatch.wait_idle(STOP_TIMEOUT_S * 10)
        results.put(time.perf_counter() - started)
        if dispatch.errors:
            raise RuntimeError(f"import tasks failed: {dispatch.errors}")
        stop.wait(STOP_TIMEOUT_S)  # stay alive until the parent took the last memory sample


class Children:
    """Child processes running `target(ready, go, stop, *args)`, one per entry of `args`."""

    def __init__(self, target: Callable[..., None], args: Sequence[tuple[Any, ...]]) -> None:
        self.go = SPAWN.Event()
        self.stop = SPAWN.Event()
        self._ready = [SPAWN.Event() for _ in args]
        self.processes: list[SpawnProcess] = [
            SPAWN.Process(target=target, args=(ready, self.go, self.stop, *child_args), daemon=True)
            for ready, child_args in zip(self._ready, args, strict=True)
        ]

    @property
    def pids(self) -> list[int]:
        """The children's process ids."""
        return [p.pid for p in self.processes if p.pid is not None]

    def __enter__(self) -> Children:
        for process in self.processes:
            process.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        for ready, process in zip(self._ready, self.processes, strict=True):
            while not ready.wait(0.1):
                if not process.is_alive() or time.monotonic() > deadline:
                    self.__exit__(None, None, None)
                    raise RuntimeError(f"worker process {process.pid} did not start")
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _exc: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.stop.set()
        self.go.set()
        for process in self.processes:
            process.join(STOP_TIMEOUT_S)
            if process.is_alive():
                process.terminate()
                process.join()

    def check(self) -> None:
        """Raise if a child died."""
        for process in self.processes:
            if process.exitcode not in (None, 0):
                raise RuntimeError(f"worker process {process.pid} exited with {process.exitcode}")
