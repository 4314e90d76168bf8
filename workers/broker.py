"""The one module that owns the Dramatiq broker.

`setup_broker` must run before `workers.actors` is imported: dramatiq binds
actors to the global broker when they are declared, and would otherwise silently
build a default one on 127.0.0.1.
"""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.middleware import Middleware, default_middleware

from workers.settings import Settings

#: one Dramatiq queue per kind of work, so operators scale each on its own
QUEUE_VERIFY = "rakuten.verify"
QUEUE_ORDERS = "rakuten.orders"
QUEUE_STOCK = "rakuten.stock"
QUEUE_OUTBOX = "rakuten.outbox"
QUEUES = (QUEUE_VERIFY, QUEUE_ORDERS, QUEUE_STOCK, QUEUE_OUTBOX)

_broker: RabbitmqBroker | None = None


def setup_broker(settings: Settings, *, prometheus: bool = False) -> RabbitmqBroker:
    """Build the RabbitMQ broker, make it dramatiq's global broker, and return it.

    Publisher confirms are on, so a message `send` returned for is stored by
    RabbitMQ. `prometheus` adds dramatiq's actor metrics middleware (worker
    processes only; the process group's leader serves them).
    """
    global _broker
    middleware: list[Middleware] = [m() for m in default_middleware]
    if prometheus:
        from dramatiq.middleware.prometheus import Prometheus

        middleware.append(Prometheus())
    broker = RabbitmqBroker(
        url=str(settings.broker.rabbitmq_url), middleware=middleware, confirm_delivery=True
    )
    dramatiq.set_broker(broker)
    _broker = broker
    return broker


def current_broker() -> RabbitmqBroker:
    """Return the broker built by `setup_broker`, or raise if there is none yet."""
    if _broker is None:
        raise RuntimeError("setup_broker() must be called before the actors are imported")
    return _broker
