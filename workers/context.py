"""What the use-case functions need: settings, the pool, the Rakuten client, the dispatcher."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from psycopg_pool import ConnectionPool

from connectors.rakuten import Credentials, RakutenClient
from db.integrations import Integration
from events.relay import OutboxRelay
from workers.crypto import TokenCipher
from workers.settings import Settings


class Dispatcher(Protocol):
    """Sends work to the Dramatiq actors (or runs it in the process, in tests and benchmarks)."""

    def send(self, task: str, *args: Any) -> None:
        """Send the task named `task` (a key of `workers.tasks.TASKS`) with its arguments."""


@dataclass
class Context:
    """The resources of one process, opened at boot and passed to the use cases.

    `relay` is the outbox relay of a worker process (the `relay_outbox` task's);
    other processes have none.
    """

    settings: Settings
    pool: ConnectionPool
    cipher: TokenCipher
    rakuten: RakutenClient
    dispatch: Dispatcher
    relay: OutboxRelay | None = None

    def credentials(self, integration: Integration) -> Credentials:
        """Decrypt the integration's token into credentials for one Rakuten call."""
        if integration.token_encrypted is None:
            raise ValueError(f"integration {integration.integration_id} has no token")
        return Credentials(integration.seller_id, self.cipher.decrypt(integration.token_encrypted))
