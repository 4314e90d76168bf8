"""The resources of one worker process, wired as `rakuten-worker` wires them, minus Dramatiq."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from bench.dispatch import PoolDispatcher
from connectors.rakuten import RakutenClient
from db.pool import open_pool
from events.relay import OutboxRelay
from workers.context import Context
from workers.crypto import TokenCipher
from workers.settings import Settings

HTTP_TIMEOUT_S = 60.0  #: seconds; a 10,000-sale getnewsales answer is about 15 MB


@contextmanager
def connector(settings: Settings, sandbox_url: str) -> Iterator[tuple[Context, PoolDispatcher]]:
    """The context of a worker process, with a thread-pool dispatcher and the outbox relay.

    As in a worker that has been running for a while, the pool holds a few
    connections and the relay's AMQP connection is open before any work starts.
    """
    pool = open_pool(str(settings.database.database_url), min_size=4, max_size=8, name="bench-worker")
    client = RakutenClient(base_url=sandbox_url, timeout=HTTP_TIMEOUT_S)
    broker = settings.broker
    relay = OutboxRelay(str(broker.rabbitmq_url), broker.events_exchange, pool, mandatory=False)
    dispatch = PoolDispatcher()
    ctx = Context(settings, pool, TokenCipher(settings.require_token_key()), client, dispatch)
    dispatch.bind(ctx, relay)
    try:
        relay.open()
        yield ctx, dispatch
    finally:
        dispatch.close()
        relay.close()
        client.close()
        pool.close()
