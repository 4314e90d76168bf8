"""The connections of `/healthz` and `/metrics`: one to PostgreSQL and one to RabbitMQ, kept.

A probe flood must not open a connection per request (it would exhaust
PostgreSQL's `max_connections`): each is opened on first use, reused by every
probe and scrape (one at a time, under a lock), and opened again after a
failure. A failure on a connection that had been idle is retried once on a
fresh one, so a server restart between two probes is not reported as an outage.
Every call is bounded by timeouts.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import pika
import psycopg

log = logging.getLogger(__name__)

T = TypeVar("T")
TIMEOUT_S = 3  #: seconds a probe waits for PostgreSQL or RabbitMQ, connecting or answering
#: pika's errors for a broker that is not there are of many unrelated classes
BROKER_ERRORS: tuple[type[BaseException], ...] = (pika.exceptions.AMQPError, OSError, ValueError)


class ProbeDatabase:
    """One autocommit PostgreSQL connection shared by the probes and scrapes."""

    def __init__(self, url: str, *, name: str = "rakuten-probe") -> None:
        self._url = url
        self._name = name
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[Any] | None = None

    def run(self, work: Callable[[psycopg.Connection[Any]], T]) -> T:
        """Run `work` on the connection; raise `psycopg.Error` when PostgreSQL does not answer."""
        with self._lock:
            reused = self._conn is not None and not self._conn.closed
            try:
                return work(self._connection())
            except psycopg.Error:
                self._drop()
                if not reused:
                    raise
            return work(self._connection())  # the kept connection had gone stale: once more, fresh

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            try:
                self._conn = psycopg.connect(
                    self._url, autocommit=True, connect_timeout=TIMEOUT_S, application_name=self._name,
                    options=f"-c statement_timeout={TIMEOUT_S * 1000}",
                )
            except psycopg.Error:
                self._conn = None
                raise
        return self._conn

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except psycopg.Error as exc:
                log.debug("closing the probe connection failed (%s)", type(exc).__name__)
            self._conn = None

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._drop()


class ProbeBroker:
    """One RabbitMQ connection for the health checks; each check opens a channel on it."""

    def __init__(self, url: str) -> None:
        params = pika.URLParameters(url)
        params.socket_timeout = params.blocked_connection_timeout = TIMEOUT_S
        params.stack_timeout = TIMEOUT_S * 2
        params.connection_attempts = 1
        # no heartbeats: the connection idles between probes; a dead one fails the next
        # check, which is retried on a fresh connection
        params.heartbeat = 0
        params.client_properties = {"connection_name": "rakuten-probe"}
        self._params = params
        self._lock = threading.Lock()
        self._connection: pika.BlockingConnection | None = None

    def run(self, work: Callable[[Any], T]) -> T:
        """Run `work` with a fresh channel; raise one of `BROKER_ERRORS` when RabbitMQ does not answer."""
        with self._lock:
            reused = self._connection is not None and self._connection.is_open
            try:
                return self._on_channel(work)
            except BROKER_ERRORS:
                self._drop()
                if not reused:
                    raise
            return self._on_channel(work)

    def _on_channel(self, work: Callable[[Any], T]) -> T:
        if self._connection is None or not self._connection.is_open:
            self._connection = pika.BlockingConnection(self._params)
        channel = self._connection.channel()
        try:
            return work(channel)
        finally:
            if channel.is_open:
                channel.close()

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except BROKER_ERRORS as exc:
                log.debug("closing the probe connection failed (%s)", type(exc).__name__)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._drop()
