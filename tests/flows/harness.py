"""A whole connector in one test process, driven step by step.

The use cases run against the real PostgreSQL (a database of the test's own) and
the sandbox over HTTP; the Dramatiq dispatch is replaced by a queue the test
drains, and the scheduler ticks when the test says so. Events enter through the
same handler the ingress uses, after the same validation.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.fernet import Fernet
from psycopg_pool import ConnectionPool

from connectors.rakuten import RakutenClient
from connectors.rakuten.sandbox import Sandbox
from db.pool import open_pool
from events.inbound import InboundEvent, parse_inbound
from tests.contract_check import assert_conforms
from workers import scheduler
from workers.context import Context
from workers.crypto import TokenCipher
from workers.handlers import EventHandler
from workers.settings import load_settings
from workers.tasks import TASKS


@dataclass
class QueueDispatcher:
    """Records the work the use cases send, for the test to run.

    Simpler than a StubBroker and a Dramatiq worker: the test decides when the
    work runs, it runs in the test's thread, and its exceptions reach the test.
    """

    tasks: deque[tuple[str, tuple[Any, ...]]] = field(default_factory=deque)
    sent: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)

    def send(self, task: str, *args: Any) -> None:
        """Queue the task."""
        if task not in TASKS:
            raise KeyError(f"no task is named {task!r}")
        self.tasks.append((task, args))
        self.sent.append((task, args))


def event(
    type_: str, data: Mapping[str, Any], *, time_: datetime | None = None, id_: str | None = None
) -> InboundEvent:
    """Build an inbound event through the ingress's own validation."""
    body = {
        "specversion": "1.0",
        "id": id_ or str(uuid.uuid4()),
        "source": "tests",
        "type": type_,
        "time": (time_ or datetime.now(UTC)).isoformat(),
        "data": dict(data),
    }
    parsed = parse_inbound(json.dumps(body).encode(), "application/cloudevents+json")
    assert_conforms(body)  # what the ingress accepts, the published schema accepts too
    return parsed


def install(integration_id: str, account_id: str, login: str, token: str, **extra: Any) -> InboundEvent:
    """An `integration.installed` event."""
    data = {
        "integration_id": integration_id,
        "account_id": account_id,
        "app": "rakuten",
        "seller_id": login,
        "token": token,
        **extra,
    }
    return event("integration.installed", data)


@dataclass
class World:
    """The connector's parts wired together for one test."""

    ctx: Context
    handler: EventHandler
    dispatch: QueueDispatcher
    sandbox: Sandbox
    pool: ConnectionPool

    def apply(self, *events: InboundEvent) -> None:
        """Hand events to the ingress's handler, as one batch."""
        self.handler(list(events))

    def run_tasks(self) -> int:
        """Run the queued work (and what it queues); return how many tasks ran."""
        ran = 0
        while self.dispatch.tasks:
            name, args = self.dispatch.tasks.popleft()
            if name != "relay_outbox":  # publishing is tested by the relay's own tests
                TASKS[name].run(self.ctx, *args)
            ran += 1
        return ran

    def step(self) -> None:
        """One scheduler tick, then the work it sent."""
        scheduler.tick(self.ctx)
        self.run_tasks()

    def drive_until(self, condition: Callable[[], Any], *, timeout: float = 15.0) -> Any:
        """Step until `condition()` is truthy; fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            self.run_tasks()
            result = condition()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {timeout}s")
            self.step()
            time.sleep(0.02)

    def drive_for(self, seconds: float) -> None:
        """Keep the system running for a while (to show that something does NOT happen)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.step()
            time.sleep(0.02)

    def outbox(self, type_: str | None = None, integration_id: str | None = None) -> list[dict[str, Any]]:
        """The events written to the outbox, oldest first, optionally filtered."""
        with self.pool.connection() as conn:
            rows = conn.execute("SELECT body FROM outbox ORDER BY id").fetchall()
        bodies = [row[0] for row in rows]
        for body in bodies:
            assert_conforms(body)
        return [
            b
            for b in bodies
            if (type_ is None or b["type"] == type_)
            and (integration_id is None or b["data"].get("integration_id") == integration_id)
        ]

    def integration(self, integration_id: str) -> dict[str, Any]:
        """The integration's row, as a dict."""
        with self.pool.connection() as conn:
            cur = conn.execute("SELECT * FROM integrations WHERE integration_id = %s", (integration_id,))
            row = cur.fetchone()
            assert row is not None and cur.description is not None
            return dict(zip([c.name for c in cur.description], row, strict=True))

    def scalar(self, query: str, *params: Any) -> Any:
        """Run a query returning one value."""
        with self.pool.connection() as conn:
            row = conn.execute(query, params).fetchone()
        return row[0] if row else None


@contextmanager
def world(
    database_url: str, sandbox: Sandbox, *, http_timeout: float = 5.0, **settings: Any
) -> Iterator[World]:
    """Open a World on `database_url` talking to `sandbox`; settings override the defaults."""
    defaults: dict[str, Any] = {
        "database_url": database_url,
        "rakuten_base_url": sandbox.url,
        "token_encryption_key": Fernet.generate_key().decode(),
        "rakuten_order_poll_interval_s": 3600.0,
        "rakuten_stock_push_interval_s": 3600.0,
        "rakuten_report_poll_interval_s": 0.05,
        "rakuten_retry_base_s": 0.01,
        "rakuten_http_timeout_s": http_timeout,
    }
    loaded = load_settings(**{**defaults, **settings})
    pool = open_pool(database_url, max_size=12, name="rakuten-flow-tests")
    client = RakutenClient(base_url=loaded.rakuten.base_url, timeout=http_timeout)
    dispatch = QueueDispatcher()
    cipher = TokenCipher(loaded.require_token_key())
    ctx = Context(loaded, pool, cipher, client, dispatch)
    try:
        handler = EventHandler(pool, cipher, dispatch, shipment_hold_s=loaded.rakuten.rakuten_shipment_hold_s)
        yield World(ctx, handler, dispatch, sandbox, pool)
    finally:
        client.close()
        pool.close()
