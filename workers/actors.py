"""The Dramatiq side of `workers.tasks`: one actor per task, the process's resources, the dispatcher.

Each actor is thin: it takes the message's ids and calls its task's use-case
function with the process's `Context`, which the `ProcessResources` middleware
opened when the worker process booted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from typing import Any

import dramatiq
from dramatiq.middleware import Middleware

from workers.context import Context
from workers.tasks import TASKS, TaskSpec

log = logging.getLogger(__name__)


class ProcessResources(Middleware):
    """Opens the process's `Context` after the process booted; closes it once the worker stopped.

    It closes in `after_worker_shutdown`, not `before_worker_shutdown`: Dramatiq
    emits the latter before the worker threads finish, and the actors still
    running (a Rakuten call, a file upload) need the pool during the grace period.
    """

    def __init__(self, open_context: Callable[[], AbstractContextManager[Context]]) -> None:
        self._open = open_context
        self._stack = ExitStack()
        self._context: Context | None = None
        self._failure: Exception | None = None

    def after_process_boot(self, broker: dramatiq.Broker) -> None:
        """Open the context (a failure is kept: Dramatiq would only log it)."""
        try:
            self._context = self._stack.enter_context(self._open())
        except Exception as exc:
            self._failure = exc

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        """Close what `after_process_boot` opened."""
        self._context = None
        self._stack.close()

    def check_opened(self) -> None:
        """Raise what opening the context raised (e.g. `BootError`), if it failed."""
        if self._failure is not None:
            raise self._failure

    @property
    def context(self) -> Context:
        """The open context; raises what opening it raised, or RuntimeError before the boot."""
        if self._failure is not None:
            raise self._failure
        if self._context is None:
            raise RuntimeError("the process's resources are not open (no process boot, or shut down)")
        return self._context


def declare_actors(broker: dramatiq.Broker) -> dict[str, dramatiq.Actor[..., None]]:
    """Declare one actor per task on `broker`; they run with the broker's `ProcessResources`.

    A process that only sends (the ingress, the scheduler) declares them too,
    without the middleware: sending needs the actor, not its resources.
    """
    return {spec.name: _declare(broker, spec) for spec in TASKS.values()}


def _declare(broker: dramatiq.Broker, spec: TaskSpec) -> dramatiq.Actor[..., None]:
    def actor(*args: Any) -> None:
        spec.run(_resources(broker).context, *args)

    actor.__name__ = actor.__qualname__ = spec.name
    actor.__doc__ = spec.run.__doc__
    declare = dramatiq.actor(
        broker=broker,
        actor_name=spec.name,
        queue_name=spec.queue,
        time_limit=round(spec.time_limit_s * 1000),
        max_retries=spec.max_retries,
        min_backoff=round(spec.min_backoff_s * 1000),
        max_backoff=round(spec.max_backoff_s * 1000),
        throws=spec.throws,
    )
    return declare(actor)


def _resources(broker: dramatiq.Broker) -> ProcessResources:
    for middleware in broker.middleware:
        if isinstance(middleware, ProcessResources):
            return middleware
    raise RuntimeError("this broker has no ProcessResources middleware: its actors cannot run here")


class DramatiqDispatcher:
    """Sends work to the actors of `broker` (declared by `declare_actors`) through RabbitMQ."""

    def __init__(self, broker: dramatiq.Broker) -> None:
        self.broker = broker

    def send(self, task: str, *args: Any) -> None:
        """Send the task's message to its actor's queue."""
        self.broker.get_actor(task).send(*args)
