"""The demo's own corner of the local services: a fresh database and, when possible, a vhost.

The demo must not touch anybody's data: it creates `rakuten_demo_<random>` on the
DATABASE_URL server and a `rakuten-demo-<random>` vhost with `rabbitmqctl` when the
broker is on this machine. Where no vhost can be made it falls back on the URL's
vhost with unique exchange and inbox names (the Dramatiq queues are then shared,
since their names are fixed). Everything made here is removed by `drop()`.
"""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import uuid
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import pika
import psycopg
from psycopg import sql

from workers.demo.console import DemoFailed
from workers.redaction import redact

log = logging.getLogger(__name__)

HOW_TO_START = (
    "start the services with scripts/services.sh (or `docker compose up -d postgres rabbitmq`), "
    "or point DATABASE_URL / RABBITMQ_URL at running servers"
)
CONNECT_TIMEOUT_S = 3  #: seconds to wait for PostgreSQL or RabbitMQ to answer
RABBITMQCTL_TIMEOUT_S = 30  #: seconds a rabbitmqctl call may take
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


class ServicesUnavailable(Exception):
    """Raised when PostgreSQL or RabbitMQ does not answer; the message says how to start them."""


def _amqp_parameters(url: str) -> pika.URLParameters:
    params = pika.URLParameters(url)
    params.connection_attempts = 1
    params.socket_timeout = params.blocked_connection_timeout = CONNECT_TIMEOUT_S
    return params


def _answers(rabbitmq_url: str) -> bool:
    """Whether a connection to `rabbitmq_url` (its vhost included) opens."""
    try:
        pika.BlockingConnection(_amqp_parameters(rabbitmq_url)).close()
    except Exception:  # pika raises many unrelated classes for "not there" and "no such vhost"
        return False
    return True


def check_services(database_url: str, rabbitmq_url: str) -> None:
    """Raise `ServicesUnavailable` unless both PostgreSQL and RabbitMQ answer."""
    try:
        psycopg.connect(database_url, connect_timeout=CONNECT_TIMEOUT_S).close()
    except psycopg.Error as exc:
        # psycopg's first line ends with the cause: "... port 5432 failed: Connection refused"
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0].rsplit("failed: ", 1)[-1]
        raise ServicesUnavailable(
            f"cannot reach PostgreSQL at {redact(database_url)} ({reason}); {HOW_TO_START}"
        ) from None
    try:
        pika.BlockingConnection(_amqp_parameters(rabbitmq_url)).close()
    except Exception as exc:  # pika raises many unrelated classes for "not there"
        raise ServicesUnavailable(
            f"cannot reach RabbitMQ at {redact(rabbitmq_url)} ({type(exc).__name__}); {HOW_TO_START}"
        ) from None


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _with_path(url: str, path: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=path))


@dataclass
class Isolation:
    """The demo's database, vhost and AMQP names, and how to remove them."""

    admin_database_url: str
    admin_rabbitmq_url: str
    suffix: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    database: str | None = None
    vhost: str | None = None
    exchange: str = "linkolis.events"
    queue: str = "rakuten.inbox"
    fallback_reason: str | None = None

    @property
    def database_url(self) -> str:
        """The URL of the demo database."""
        assert self.database is not None, "create_database() first"
        return _with_path(self.admin_database_url, "/" + self.database)

    @property
    def rabbitmq_url(self) -> str:
        """The URL of the demo vhost, or of the URL's own vhost in the fallback."""
        if self.vhost is None:
            return self.admin_rabbitmq_url
        return _with_path(self.admin_rabbitmq_url, "/" + quote(self.vhost, safe=""))

    def create_database(self) -> None:
        """Create the empty demo database (the worker migrates it when it starts)."""
        name = f"rakuten_demo_{self.suffix}"
        try:
            with psycopg.connect(self.admin_database_url, autocommit=True) as admin:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.Error as exc:
            raise DemoFailed(
                f"Could not create a database on {redact(self.admin_database_url)} ({exc}); "
                "the demo needs a DATABASE_URL user allowed to CREATE DATABASE"
            ) from None
        self.database = name

    def create_vhost(self) -> None:
        """Create and open a vhost, or fall back on unique names in the URL's vhost."""
        parts = urlsplit(self.admin_rabbitmq_url)
        if shutil.which("rabbitmqctl") is None:
            self._fall_back("no rabbitmqctl on the PATH")
            return
        if parts.hostname not in LOCAL_HOSTS:
            self._fall_back(f"the broker {parts.hostname} is not on this machine")
            return
        name = f"rakuten-demo-{self.suffix}"
        user = unquote(parts.username or "guest")
        try:
            _rabbitmqctl("add_vhost", name)
            self.vhost = name
            _rabbitmqctl("set_permissions", "-p", name, user, ".*", ".*", ".*")
        except (OSError, subprocess.SubprocessError) as exc:
            self._fall_back(f"rabbitmqctl failed ({_why(exc)})")
            return
        # a local rabbitmqctl may manage another broker than the URL's (say, one in a container)
        if not _answers(self.rabbitmq_url):
            self._fall_back("the vhost rabbitmqctl made is not on RABBITMQ_URL's broker")

    def _fall_back(self, reason: str) -> None:
        if self.vhost is not None:
            _delete_vhost(self.vhost)
            self.vhost = None
        self.fallback_reason = reason
        self.exchange = f"rakuten-demo.events.{self.suffix}"
        self.queue = f"rakuten-demo.inbox.{self.suffix}"

    def drop(self, *, keep_database: bool = False) -> list[str]:
        """Remove what was created (the database unless kept); return what was removed."""
        removed: list[str] = []
        if self.vhost is not None and _delete_vhost(self.vhost):
            removed.append(f"vhost {self.vhost}")
            self.vhost = None
        elif self.fallback_reason is not None:
            removed.extend(self._delete_names())
        if self.database is not None and not keep_database:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.database))
            with psycopg.connect(self.admin_database_url, autocommit=True) as admin:
                admin.execute(drop)
            removed.append(f"database {self.database}")
            self.database = None
        return removed

    def _delete_names(self) -> list[str]:
        """Delete the fallback's exchange and queues from the shared vhost."""
        try:
            connection = pika.BlockingConnection(pika.URLParameters(self.admin_rabbitmq_url))
        except Exception as exc:  # pika raises many unrelated classes
            log.warning("could not remove the demo's exchange and queues: %s", type(exc).__name__)
            return []
        try:
            channel = connection.channel()
            for queue in (self.queue, f"{self.queue}.dead"):
                channel.queue_delete(queue)
            channel.exchange_delete(self.exchange)
        finally:
            connection.close()
        return [f"exchange and queues rakuten-demo.*.{self.suffix}"]


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(
        ["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=RABBITMQCTL_TIMEOUT_S
    )


def _delete_vhost(name: str) -> bool:
    try:
        _rabbitmqctl("delete_vhost", name)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("could not delete vhost %s: %s", name, _why(exc))
        return False
    return True


def _why(exc: BaseException) -> str:
    if isinstance(exc, subprocess.CalledProcessError):
        output = (exc.stderr or b"").decode(errors="replace").strip().splitlines()
        return output[-1] if output else f"exit code {exc.returncode}"
    return type(exc).__name__
