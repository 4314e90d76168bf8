"""Every kind of work the actors do, declared once.

A task is its use-case function (called with the process's `Context`, then the
ids the message carries), its Dramatiq queue, its time limit and its retry
policy. Everything else follows from this table: `workers.actors` declares one
Dramatiq actor per task, the worker consumes the queues named here, and the
in-process runners of the tests and benchmarks call `TASKS[name].run(ctx, *args)`.
Work is sent by name with the claim's fencing token:
`ctx.dispatch.send("verify", integration_id, token)`.

Retries are few and short: the long waits are due times in the database
(`workers.scheduler`), and every use case is idempotent (its work is claimed in
the database and the message carries the claim's token, so a second delivery, or
one whose claim was made again since, finds nothing to do: `workers.claims`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from workers import acceptance, cancellation, orders, stock_sync, todo, verification
from workers.context import Context
from workers.crypto import TokenDecryptError
from workers.shipping.files import ship_file
from workers.shipping.items import ship_item

#: one Dramatiq queue per kind of work, so operators scale each on its own
QUEUE_VERIFY = "rakuten.verify"
QUEUE_ORDERS = "rakuten.orders"
QUEUE_STOCK = "rakuten.stock"
QUEUE_OUTBOX = "rakuten.outbox"
QUEUE_SHIPPING = "rakuten.shipping"


@dataclass(frozen=True)
class TaskSpec:
    """One kind of work: what runs, on which queue, for how long, retried how.

    The retry defaults stay well under RabbitMQ's consumer timeout (Dramatiq holds
    a delayed message unacknowledged until it is due). `throws` fail at once.
    """

    name: str
    run: Callable[..., object]
    queue: str
    time_limit_s: float
    max_retries: int = 3
    min_backoff_s: float = 0.5
    max_backoff_s: float = 10.0
    throws: tuple[type[Exception], ...] = (TokenDecryptError,)


def relay_outbox(ctx: Context) -> None:
    """Publish the events waiting in the outbox, with the process's relay."""
    if ctx.relay is None:
        raise RuntimeError("this process has no outbox relay")
    ctx.relay.relay_pending()


def _registry(*specs: TaskSpec) -> dict[str, TaskSpec]:
    names = [spec.name for spec in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"a task name is declared twice: {names}")
    return {spec.name: spec for spec in specs}


#: every kind of work, by name
TASKS = _registry(
    TaskSpec("verify", verification.verify_integration, QUEUE_VERIFY, time_limit_s=120),
    TaskSpec("import_orders", orders.import_orders, QUEUE_ORDERS, time_limit_s=600),
    TaskSpec("accept_item", acceptance.accept_item, QUEUE_ORDERS, time_limit_s=120),
    TaskSpec("cancel_item", cancellation.cancel_item, QUEUE_ORDERS, time_limit_s=180),
    TaskSpec("read_todo_list", todo.read_todo_list, QUEUE_ORDERS, time_limit_s=120),
    TaskSpec("push_stock", stock_sync.push_stock, QUEUE_STOCK, time_limit_s=300),
    TaskSpec("poll_import_report", stock_sync.poll_import_report, QUEUE_STOCK, time_limit_s=120),
    TaskSpec("ship_item", ship_item, QUEUE_SHIPPING, time_limit_s=120),
    TaskSpec("ship_file", ship_file, QUEUE_SHIPPING, time_limit_s=300),
    TaskSpec("relay_outbox", relay_outbox, QUEUE_OUTBOX, time_limit_s=120),
)

#: the queues of the tasks, each once, in the order above
QUEUES = tuple(dict.fromkeys(spec.queue for spec in TASKS.values()))
