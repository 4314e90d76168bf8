"""The one module that builds the Dramatiq broker.

The broker is made dramatiq's global broker as well, so that nothing silently
builds a default one on 127.0.0.1. Its actors are declared on it afterwards
(`workers.actors.declare_actors`).
"""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.middleware import Middleware, default_middleware

from workers.settings import Settings


def setup_broker(settings: Settings, *, prometheus: bool = False) -> RabbitmqBroker:
    """Build the RabbitMQ broker, make it dramatiq's global broker, and return it.

    Publisher confirms are on, so a message `send` returned for is stored by
    RabbitMQ. `prometheus` adds dramatiq's actor metrics middleware (worker
    processes only; the process group's leader serves them).
    """
    middleware: list[Middleware] = [m() for m in default_middleware]
    if prometheus:
        from dramatiq.middleware.prometheus import Prometheus

        middleware.append(Prometheus())
    broker = RabbitmqBroker(
        url=str(settings.broker.rabbitmq_url), middleware=middleware, confirm_delivery=True
    )
    dramatiq.set_broker(broker)
    return broker
