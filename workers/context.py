"""What the use-case functions need: settings, the pool, the Rakuten client, the dispatcher."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from psycopg_pool import ConnectionPool

from connectors.rakuten import Credentials, RakutenClient
from db.integrations import Integration
from workers.crypto import TokenCipher
from workers.settings import Settings


class Dispatcher(Protocol):
    """Sends work to the Dramatiq actors (or runs it inline, in tests)."""

    def verify(self, integration_id: str, token: int) -> None:
        """Verify the integration's credentials (`token`: the claim's fencing token)."""

    def import_orders(self, integration_id: str, token: int) -> None:
        """Poll the integration's orders."""

    def push_stock(self, integration_id: str, token: int) -> None:
        """Send the integration's pending stock."""

    def poll_import_report(self, import_pk: int, token: int) -> None:
        """Read the report of a stock file."""

    def accept_item(self, integration_id: str, item_id: str, token: int) -> None:
        """Accept one sale item on Rakuten."""

    def relay_outbox(self) -> None:
        """Publish what waits in the outbox."""


@dataclass
class Context:
    """The resources of one process, opened at boot and passed to the use cases."""

    settings: Settings
    pool: ConnectionPool
    cipher: TokenCipher
    rakuten: RakutenClient
    dispatch: Dispatcher

    def credentials(self, integration: Integration) -> Credentials:
        """Decrypt the integration's token into credentials for one Rakuten call."""
        if integration.token_encrypted is None:
            raise ValueError(f"integration {integration.integration_id} has no token")
        return Credentials(integration.seller_id, self.cipher.decrypt(integration.token_encrypted))
