"""The Dramatiq actors: thin entry points that take ids and call one use-case function.

Every actor is idempotent: the work it is sent for is claimed in the database and
the message carries the claim's fencing token, so a second delivery, or a message
whose claim was made again since, finds nothing to do. Retries are few and short: the
long waits are due times in the database (`workers.scheduler`).
"""

from __future__ import annotations

from typing import Any

import dramatiq

from workers import acceptance, orders, runtime, stock_sync, verification
from workers.broker import QUEUE_ORDERS, QUEUE_OUTBOX, QUEUE_STOCK, QUEUE_VERIFY, current_broker
from workers.crypto import TokenDecryptError
from workers.dispatch import TaskDispatcher

broker = current_broker()

#: Dramatiq retry settings: short backoffs, well under RabbitMQ's consumer timeout
RETRIES: dict[str, Any] = {
    "max_retries": 3,
    "min_backoff": 500,  # milliseconds
    "max_backoff": 10_000,  # milliseconds
    "throws": (TokenDecryptError,),
}


@dramatiq.actor(broker=broker, queue_name=QUEUE_VERIFY, time_limit=120_000, **RETRIES)
def verify(integration_id: str, token: int) -> None:
    """Verify an integration's credentials."""
    verification.verify_integration(runtime.current().context, integration_id, token)


@dramatiq.actor(broker=broker, queue_name=QUEUE_ORDERS, time_limit=600_000, **RETRIES)
def import_orders(integration_id: str, token: int) -> None:
    """Poll an integration's sales and import the new orders."""
    orders.import_orders(runtime.current().context, integration_id, token)


@dramatiq.actor(broker=broker, queue_name=QUEUE_ORDERS, time_limit=120_000, **RETRIES)
def accept_item(integration_id: str, item_id: str, token: int) -> None:
    """Accept one sale item on Rakuten."""
    acceptance.accept_item(runtime.current().context, integration_id, item_id, token)


@dramatiq.actor(broker=broker, queue_name=QUEUE_STOCK, time_limit=300_000, **RETRIES)
def push_stock(integration_id: str, token: int) -> None:
    """Send an integration's pending stock in one file."""
    stock_sync.push_stock(runtime.current().context, integration_id, token)


@dramatiq.actor(broker=broker, queue_name=QUEUE_STOCK, time_limit=120_000, **RETRIES)
def poll_import_report(import_pk: int, token: int) -> None:
    """Read the report of a stock file."""
    stock_sync.poll_import_report(runtime.current().context, import_pk, token)


@dramatiq.actor(broker=broker, queue_name=QUEUE_OUTBOX, time_limit=120_000, **RETRIES)
def relay_outbox() -> None:
    """Publish the events waiting in the outbox."""
    runtime.current().relay.relay_pending()


#: the actor behind each task name of `workers.dispatch`
ACTORS: dict[str, dramatiq.Actor[..., None]] = {
    "verify": verify,
    "import_orders": import_orders,
    "push_stock": push_stock,
    "poll_import_report": poll_import_report,
    "accept_item": accept_item,
    "relay_outbox": relay_outbox,
}


class DramatiqDispatcher(TaskDispatcher):
    """Sends work to the actors above through RabbitMQ."""

    def submit(self, name: str, *args: Any) -> None:
        """Send the task's message to its actor's queue."""
        ACTORS[name].send(*args)
