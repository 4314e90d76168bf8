"""The tasks as Dramatiq actors: a StubBroker and a real Dramatiq worker run them in this process.

The work runs against the real PostgreSQL and the sandbox over HTTP, with the
resources the `ProcessResources` middleware opens when the process boots.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import dramatiq
import psycopg
import pytest
from cryptography.fernet import Fernet
from dramatiq.brokers.stub import StubBroker

from connectors.rakuten.sandbox import Sandbox
from db import integrations
from tests.fixtures.sandbox import SellerAccount
from workers.actors import DramatiqDispatcher, ProcessResources, declare_actors
from workers.crypto import TokenCipher
from workers.processes import open_context
from workers.settings import load_settings
from workers.tasks import QUEUE_VERIFY, TASKS


def test_every_task_is_an_actor_on_its_queue_with_its_time_limit_and_retries() -> None:
    broker = StubBroker()

    actors = declare_actors(broker)

    assert set(actors) == set(TASKS) == set(broker.get_declared_actors())
    for name, spec in TASKS.items():
        actor = broker.get_actor(name)
        assert actor.queue_name == spec.queue
        assert actor.options["time_limit"] == spec.time_limit_s * 1000
        assert actor.options["max_retries"] == spec.max_retries
        assert actor.options["throws"] == spec.throws


def test_a_dramatiq_worker_verifies_with_the_resources_its_middleware_opened_and_closes_them_after(
    fresh_database: str, sandbox: Sandbox, make_seller: Callable[..., SellerAccount],
) -> None:
    settings = load_settings(database_url=fresh_database, rakuten_base_url=sandbox.url,
                             token_encryption_key=Fernet.generate_key().decode(), rakuten_http_timeout_s=5)
    seller = make_seller()
    integration_id = f"int-{uuid.uuid4().hex[:8]}"
    with psycopg.connect(fresh_database) as conn:
        token = integrations.insert(conn, integration_id=integration_id, account_id="acc-1",
                            application_name="Rakuten", seller_id=seller.login,
                            token_encrypted=TokenCipher(settings.require_token_key()).encrypt(seller.token),
                            stock_sync_enabled=False, auto_accept_orders=False, verify_lease_s=60)
    broker = StubBroker()
    declare_actors(broker)
    dispatch = DramatiqDispatcher(broker)
    resources = ProcessResources(lambda: open_context(settings, dispatch, pool_size=2, name="actor-tests"))
    broker.add_middleware(resources)
    broker.emit_after("process_boot")
    pool = resources.context.pool
    worker = dramatiq.Worker(broker, queues={QUEUE_VERIFY}, worker_timeout=100)
    worker.start()
    try:
        dispatch.send("verify", integration_id, token)
        broker.join(QUEUE_VERIFY, fail_fast=True)
        worker.join()
    finally:
        worker.stop()

    with psycopg.connect(fresh_database) as conn:
        status = conn.execute("SELECT status FROM integrations WHERE integration_id = %s",
                              (integration_id,)).fetchone()
    assert status == ("verified",)
    assert broker.queues["rakuten.outbox"].qsize() == 1, "the verification sent the outbox relay"
    assert pool.closed, "the worker's shutdown closed the pool"
    with pytest.raises(RuntimeError):
        resources.context  # noqa: B018 (the property raises once the resources are closed)
