"""`/healthz` and `/metrics` are cheap and bounded: a probe flood cannot exhaust PostgreSQL.

A check and a scrape share one kept PostgreSQL connection and one RabbitMQ
connection, answers are computed at most once a second, a client that sends
nothing is dropped, and at most a few requests are served at once.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest

from tests.e2e.helpers import free_port
from tests.fixtures.services import ServiceUrls
from tests.waiting import wait_until
from workers.observability.health import SCHEDULER_STALE_S, Health
from workers.observability.server import MAX_HANDLERS, REQUEST_TIMEOUT_S, serve
from workers.settings import Settings, load_settings

FLOOD = 400  #: requests in the flood
CONCURRENCY = 64  #: clients at once


class CountingHealth(Health):
    """The real checks, counted."""

    checks = 0

    def check(self) -> dict[str, str]:
        CountingHealth.checks += 1
        return super().check()


@pytest.fixture
def settings(
    fresh_database: str, rabbitmq_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    return load_settings(database_url=fresh_database, rabbitmq_url=rabbitmq_url, metrics_port=free_port(),
                         metrics_host="127.0.0.1")


@pytest.fixture
def served(settings: Settings) -> Iterator[tuple[str, CountingHealth]]:
    CountingHealth.checks = 0
    health = CountingHealth(settings, scheduler_id="sched-test")
    server = serve(settings, health)
    assert server is not None
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", health
    finally:
        server.shutdown()
        server.server_close()
        health.close()


def _connections(admin_url: str, database_url: str) -> int:
    name = urlsplit(database_url).path.lstrip("/")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        row = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (name,)).fetchone()
    return int(row[0]) if row else 0


def test_a_flood_of_concurrent_probes_holds_one_database_connection_and_answers_every_request(
    served: tuple[str, CountingHealth], settings: Settings, service_urls: ServiceUrls,
) -> None:
    base, _ = served
    database_url = str(settings.database.database_url)
    peak = 0
    stop = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _connections(service_urls.database, database_url))
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()

    def probe(n: int) -> int:
        with httpx.Client(timeout=30) as http:
            return http.get(base + ("/healthz" if n % 2 else "/metrics")).status_code

    started = time.monotonic()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        statuses = list(pool.map(probe, range(FLOOD)))
    elapsed = time.monotonic() - started
    stop.set()
    watcher.join()
    assert len(statuses) == FLOOD and set(statuses) <= {200, 503}, "every request gets a status code"
    assert statuses.count(200) > 0
    assert peak <= 1, f"{peak} connections to the database during the flood"
    assert CountingHealth.checks <= elapsed / 1.0 + 2, f"{CountingHealth.checks} checks in {elapsed:.1f}s"


def test_clients_that_send_nothing_are_dropped_and_the_rest_is_answered_busy_meanwhile(
    served: tuple[str, CountingHealth],
) -> None:
    base, _ = served
    port = int(base.rsplit(":", 1)[1])
    threads_before = threading.active_count()
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(MAX_HANDLERS)]
    try:
        wait_until(lambda: threading.active_count() >= threads_before + MAX_HANDLERS, "the handlers to start")
        started = time.monotonic()
        busy = httpx.get(base + "/healthz", timeout=10)
        assert busy.status_code == 503 and time.monotonic() - started < 2, "answered at once, not queued"
        assert threading.active_count() <= threads_before + MAX_HANDLERS, "no thread beyond the bound"
        for sock in idle:
            sock.settimeout(REQUEST_TIMEOUT_S + 5)
            assert sock.recv(1) == b"", "the server closed a connection that sent nothing"
    finally:
        for sock in idle:
            sock.close()
    assert wait_until(lambda: httpx.get(base + "/healthz", timeout=10).status_code == 200,
                      "the probe to be served again", timeout=5)


def test_the_scheduler_heartbeat_comes_from_postgresql(
    served: tuple[str, CountingHealth], settings: Settings,
) -> None:
    base, health = served
    url = str(settings.database.database_url)
    assert httpx.get(base + "/healthz").json() == {"healthy": True, "problems": {}}, "start-up grace"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO scheduler_heartbeats "
                     "VALUES ('sched-test', now() - make_interval(secs => %s))", (SCHEDULER_STALE_S + 10,))
    wait_until(lambda: "progress" in httpx.get(base + "/healthz").json()["problems"], "the stale heartbeat")
    body = httpx.get(base + "/healthz").json()
    assert body["problems"]["progress"].startswith("the scheduler last ticked 4")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE scheduler_heartbeats SET ticked_at = now() WHERE scheduler_id = 'sched-test'")
    wait_until(lambda: httpx.get(base + "/healthz").status_code == 200, "the fresh heartbeat")
    health.started -= SCHEDULER_STALE_S  # past the grace: a scheduler that never ticked is reported
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DELETE FROM scheduler_heartbeats")
    wait_until(lambda: httpx.get(base + "/healthz").json()["problems"].get("progress")
               == "the scheduler has not ticked", "the missing heartbeat")
