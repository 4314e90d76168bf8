"""The services a benchmark runs on: scratch databases, scratch vhosts, settings, seeded integrations.

Everything made here is removed on exit, also after an error or Ctrl-C: every
database is a clone of one migrated template and dropped `WITH (FORCE)`, every
vhost is deleted with `rabbitmqctl` (so its queues and messages go with it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import psycopg
from cryptography.fernet import Fernet
from psycopg import sql

from db import integrations
from db.migrate import migrate
from workers.crypto import TokenCipher
from workers.settings import Settings, load_settings

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
RABBITMQCTL_TIMEOUT_S = 60.0  #: seconds for one rabbitmqctl call
#: the Rakuten URL of benchmarks that never call Rakuten (the discard port: nothing answers)
NO_RAKUTEN = "http://127.0.0.1:9"


def with_database(url: str, name: str) -> str:
    """Return `url` pointing at database `name`."""
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


def _with_vhost(url: str, vhost: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + quote(vhost, safe="")))


def _rabbitmqctl(*args: str, check: bool = True) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=check, capture_output=True,
                   timeout=RABBITMQCTL_TIMEOUT_S)


@dataclass
class Services:
    """The PostgreSQL server and RabbitMQ broker, and the scratch objects made on them."""

    admin_url: str
    amqp_url: str
    template: str = ""
    databases: list[str] = field(default_factory=list)
    vhosts: list[str] = field(default_factory=list)

    @property
    def local_broker(self) -> bool:
        """Whether vhosts can be made here (rabbitmqctl on the broker's host)."""
        host = urlsplit(self.amqp_url).hostname
        return shutil.which("rabbitmqctl") is not None and host in ("localhost", "127.0.0.1")

    def new_database(self) -> str:
        """Clone the migrated template into a new database and return its URL."""
        name = f"rakuten_bench_{uuid.uuid4().hex[:12]}"
        self._admin(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(self.template)))
        self.databases.append(name)
        return with_database(self.admin_url, name)

    def drop_database(self, url: str) -> None:
        """Drop a database made by `new_database` (connections to it are cut)."""
        name = urlsplit(url).path.lstrip("/")
        self._admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if name in self.databases:
            self.databases.remove(name)

    @contextmanager
    def database(self) -> Iterator[str]:
        """A fresh migrated database for the block."""
        url = self.new_database()
        try:
            yield url
        finally:
            self.drop_database(url)

    def new_vhost(self) -> str:
        """Make an empty vhost and return its AMQP URL (the base URL when none can be made)."""
        if not self.local_broker:
            return self.amqp_url
        vhost = f"rakuten-bench-{uuid.uuid4().hex[:12]}"
        user = unquote(urlsplit(self.amqp_url).username or "guest")
        _rabbitmqctl("add_vhost", vhost)
        self.vhosts.append(vhost)
        _rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
        return _with_vhost(self.amqp_url, vhost)

    @contextmanager
    def vhost(self) -> Iterator[str]:
        """A fresh vhost for the block (its queues and messages are deleted with it)."""
        url = self.new_vhost()
        try:
            yield url
        finally:
            name = unquote(urlsplit(url).path.lstrip("/"))
            if name in self.vhosts:
                self.vhosts.remove(name)
                _rabbitmqctl("delete_vhost", name, check=False)

    def delete_vhosts(self) -> None:
        """Delete every vhost made by `new_vhost`."""
        while self.vhosts:
            _rabbitmqctl("delete_vhost", self.vhosts.pop(), check=False)

    def cleanup(self) -> None:
        """Drop every database and vhost still there."""
        for name in [*self.databases, self.template]:
            if name:
                self._admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)))
        self.databases.clear()
        self.delete_vhosts()

    def _admin(self, statement: sql.Composed) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(statement)


@contextmanager
def open_services() -> Iterator[Services]:
    """The services from DATABASE_URL / RABBITMQ_URL (else localhost), cleaned up on exit."""
    services = Services(
        os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
        os.environ.get("RABBITMQ_URL", DEFAULT_RABBITMQ_URL),
    )
    services.template = f"rakuten_bench_tpl_{uuid.uuid4().hex[:12]}"
    try:
        services._admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(services.template)))
        with psycopg.connect(with_database(services.admin_url, services.template)) as conn:
            migrate(conn)
        yield services
    finally:
        services.cleanup()


def bench_settings(database_url: str, amqp_url: str, sandbox_url: str, **overrides: Any) -> Settings:
    """Settings for one benchmark: these services, a new token key, no metrics endpoint."""
    defaults: dict[str, Any] = {
        "database_url": database_url,
        "rabbitmq_url": amqp_url,
        "rakuten_base_url": sandbox_url,
        "events_exchange": "bench.events",
        "events_queue": "bench.inbox",
        "token_encryption_key": Fernet.generate_key().decode(),
        "metrics_port": 0,
        "rakuten_order_poll_interval_s": 3600.0,
        "rakuten_report_poll_interval_s": 0.2,
        "rakuten_retry_base_s": 0.05,
    }
    return load_settings(**{**defaults, **overrides})


def add_verified_integration(
    conn: psycopg.Connection[Any],
    cipher: TokenCipher,
    *,
    integration_id: str,
    account_id: str,
    login: str,
    token: str,
    stock_sync: bool = True,
) -> None:
    """Store an integration as the handler and the verification would leave it: verified."""
    integrations.insert(
        conn, integration_id=integration_id, account_id=account_id, application_name="Rakuten",
        seller_id=login, token_encrypted=cipher.encrypt(token), stock_sync_enabled=stock_sync,
        auto_accept_orders=False, verify_lease_s=3600.0,
    )
    integrations.record_verified(conn, integration_id, version=1, rakuten_seller_id="1000001")
    conn.commit()
