"""Running the actors' work without Dramatiq: the task table and a dispatcher base.

Every dispatcher subclasses `TaskDispatcher` and says what `submit` does with a
task: `workers.actors.DramatiqDispatcher` sends it through RabbitMQ; the tests and
the benchmarks run the same use-case functions in their own process instead.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from workers import acceptance, orders, stock_sync, verification

#: the use-case function behind each actor (all but the relay, which needs no context)
TASKS: dict[str, Callable[..., Any]] = {
    "verify": verification.verify_integration,
    "import_orders": orders.import_orders,
    "push_stock": stock_sync.push_stock,
    "poll_import_report": stock_sync.poll_import_report,
    "accept_item": acceptance.accept_item,
}


class TaskDispatcher(ABC):
    """A `Dispatcher` that turns every call into `submit(task name, *arguments)`."""

    @abstractmethod
    def submit(self, name: str, *args: Any) -> None:
        """Do something with the task `name` (a key of TASKS, or "relay_outbox")."""

    def verify(self, integration_id: str, token: int) -> None:
        """Submit `verify`."""
        self.submit("verify", integration_id, token)

    def import_orders(self, integration_id: str, token: int) -> None:
        """Submit `import_orders`."""
        self.submit("import_orders", integration_id, token)

    def push_stock(self, integration_id: str, token: int) -> None:
        """Submit `push_stock`."""
        self.submit("push_stock", integration_id, token)

    def poll_import_report(self, import_pk: int, token: int) -> None:
        """Submit `poll_import_report`."""
        self.submit("poll_import_report", import_pk, token)

    def accept_item(self, integration_id: str, item_id: str, token: int) -> None:
        """Submit `accept_item`."""
        self.submit("accept_item", integration_id, item_id, token)

    def relay_outbox(self) -> None:
        """Submit `relay_outbox`."""
        self.submit("relay_outbox")
