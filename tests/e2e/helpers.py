"""Helpers for end-to-end tests that run the real `rakuten-worker` processes.

`start_run` starts `python -m workers run` against a database and a vhost of the
test's own and the sandbox, with small intervals; `EventTap` reads the events
the worker publishes; `wait_until` waits for a condition with a deadline;
`scrape` and `metric` read `/metrics`; `inbound` builds CloudEvents to publish
with `events.publisher.publish_events`.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pika
import pika.exceptions
import psycopg
from cryptography.fernet import Fernet
from prometheus_client.parser import text_string_to_metric_families
from psycopg import sql

from events.outbound import OUTBOUND_TYPES
from events.topology import declare_exchange
from tests import waiting
from tests.contract_check import assert_conforms, assert_published_properties
from tests.fixtures.services import with_database

T = TypeVar("T")

DEADLINE = 30.0  #: seconds a condition may take by default
PORT_ATTEMPTS = 3  #: starts of `run` when another process takes its metrics port first


def wait_until(
    condition: Callable[[], T | None], what: str, *, timeout: float = DEADLINE, every: float = 0.1
) -> T:
    """`tests.waiting.wait_until` with the end-to-end tests' longer default deadline."""
    return waiting.wait_until(condition, what, timeout=timeout, every=every)
#: Environment the test process may carry that must not leak into `run`'s group.
GROUP_ENV = ("PROMETHEUS_MULTIPROC_DIR", "dramatiq_prom_db", "RAKUTEN_METRICS_CHILD")
#: fast intervals, so flows complete within seconds
FAST_INTERVALS = {
    "RAKUTEN_ORDER_POLL_INTERVAL_S": "0.5",
    "RAKUTEN_STOCK_PUSH_INTERVAL_S": "1",
    "RAKUTEN_REPORT_POLL_INTERVAL_S": "0.3",
    # work a killed worker had started is claimed again when its lease ends
    "WORK_LEASE_S": "5",
}


def free_port() -> int:
    """Return a TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def new_database(admin_url: str, *, prefix: str = "rakuten_e2e") -> Iterator[str]:
    """Create an empty database (no schema: `run` migrates it); drop it afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield with_database(admin_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(sql.Identifier(name)))
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _parent_pid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (2nd field) may hold spaces and parentheses: split after the last ')'
    return int(stat.rsplit(")", 1)[1].split()[1])


def is_running(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def children_of(pid: int) -> dict[int, str]:
    """Return the live child processes of `pid` with the part each runs (`python -m workers PART`)."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _parent_pid(int(entry.name)) == pid and is_running(int(entry.name)):
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            words = [word.decode(errors="replace") for word in argv if word]
            part = words[words.index("workers") + 1] if "workers" in words[:-1] else " ".join(words)
            found[int(entry.name)] = part
    return found


@dataclass
class RunProcess:
    """A running `python -m workers run`, its settings and its log."""

    process: subprocess.Popen[bytes]
    env: dict[str, str]
    log_path: Path
    metrics_url: str

    @property
    def pid(self) -> int:
        """The pid of `run` (the supervisor)."""
        return self.process.pid

    @property
    def amqp_url(self) -> str:
        """The RabbitMQ URL `run` uses."""
        return self.env["RABBITMQ_URL"]

    @property
    def exchange(self) -> str:
        """The events exchange `run` uses."""
        return self.env["EVENTS_EXCHANGE"]

    def children(self) -> dict[int, str]:
        """The live children of `run`: pid -> part name."""
        return children_of(self.pid)

    def child(self, part: str) -> int:
        """The pid of the child running `part` (fails when there is none)."""
        pids = [pid for pid, name in self.children().items() if name == part]
        assert len(pids) == 1, f"expected one {part} child, found {self.children()}"
        return pids[0]

    def log(self) -> str:
        """Everything `run` and its children wrote so far."""
        return self.log_path.read_text(errors="replace")

    def get(self, path: str) -> httpx.Response:
        """GET a path of the metrics server."""
        return httpx.get(self.metrics_url + path, timeout=10)

    def health(self) -> tuple[int, dict[str, Any]]:
        """Return `/healthz`'s status code and JSON body."""
        response = self.get("/healthz")
        return response.status_code, response.json()

    def stop(self, *, timeout: float = 60.0) -> int:
        """SIGTERM `run` and return its exit code; kill its group if it outlives `timeout`."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode


def run_environment(*, database_url: str, amqp_url: str, rakuten_url: str, metrics_port: int,
                    **extra: str) -> dict[str, str]:
    """The environment of a `run` process: the test's services, fast intervals, its own metrics port."""
    env = {key: value for key, value in os.environ.items() if key not in GROUP_ENV}
    env.update(
        DATABASE_URL=database_url,
        RABBITMQ_URL=amqp_url,
        TOKEN_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        RAKUTEN_BASE_URL=rakuten_url,
        METRICS_PORT=str(metrics_port),
        METRICS_HOST="127.0.0.1",
        EVENTS_EXCHANGE="linkolis.events",
        EVENTS_QUEUE="rakuten.inbox",
        LOG_FORMAT="text",
        **FAST_INTERVALS,
    )
    env.update(extra)
    return env


@contextmanager
def start_run(env: Mapping[str, str], log_dir: Path, *args: str, ready_timeout: float = DEADLINE
              ) -> Iterator[RunProcess]:
    """Start `python -m workers run ARGS`; yield once `/healthz` answers 200; stop it at the end.

    `run` gets a process group of its own, so a `run` that does not stop in time
    is killed with every child it left. Its output goes to `log_dir/run-<pid>.log`.
    The metrics port was free when the test picked it, but other processes of the
    machine may take it before `run` binds it: then `run` is started again on another.
    """
    running = _launch(env, log_dir, args)
    for _ in range(PORT_ATTEMPTS - 1):
        if not _lost_its_port(running, ready_timeout):
            break
        running = _launch({**env, "METRICS_PORT": str(free_port())}, log_dir, args)
    try:
        wait_until(lambda: _healthy(running), "`run` to report itself healthy", timeout=ready_timeout)
        # /healthz does not wait for the ingress: events published before its queue
        # is bound would be dropped by the exchange
        wait_until(lambda: consumers(running.amqp_url, env["EVENTS_QUEUE"]) > 0,
                   "the ingress to consume", timeout=ready_timeout)
        yield running
    finally:
        running.stop()
        print(f"--- log of run (pid {running.pid}) ---\n{running.log()}")


def _launch(env: Mapping[str, str], log_dir: Path, args: tuple[str, ...]) -> RunProcess:
    log_path = log_dir / f"run-{uuid.uuid4().hex[:6]}.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "workers", "run", *args], env=dict(env),
            stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
        )
    return RunProcess(process, dict(env), log_path, f"http://127.0.0.1:{env['METRICS_PORT']}")


def _lost_its_port(running: RunProcess, timeout: float) -> bool:
    """Wait until `run` serves its port or exits; whether it exited because the port was taken."""
    def settled() -> bool:
        if running.process.poll() is not None:
            return True
        try:
            running.get("/healthz")
        except httpx.HTTPError:
            return False
        return True

    wait_until(settled, "`run` to serve its metrics port or exit", timeout=timeout)
    return running.process.poll() is not None and "Address already in use" in running.log()


def _healthy(running: RunProcess) -> bool:
    if running.process.poll() is not None:
        raise AssertionError(f"`run` exited with {running.process.returncode}:\n{running.log()}")
    try:
        return running.get("/healthz").status_code == 200
    except httpx.HTTPError:
        return False


def consumers(amqp_url: str, queue: str) -> int:
    """Return how many consumers `queue` has (0 when it does not exist yet)."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        return int(connection.channel().queue_declare(queue, passive=True).method.consumer_count)
    except pika.exceptions.ChannelClosedByBroker:
        return 0
    finally:
        if connection.is_open:
            connection.close()


@dataclass
class EventTap:
    """A queue bound to the exchange for the outbound event types; collects what arrives."""

    channel: Any
    queue: str
    events: list[dict[str, Any]] = field(default_factory=list)

    def poll(self) -> list[dict[str, Any]]:
        """Fetch what has arrived; return every event seen so far."""
        while (got := self.channel.basic_get(self.queue, auto_ack=True))[0] is not None:
            event = json.loads(got[2])
            self.events.append(event)
            assert_conforms(event)
            assert_published_properties(got[1], event)
        return self.events

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool], what: str, *,
                 count: int = 1, timeout: float = DEADLINE) -> list[dict[str, Any]]:
        """Wait until `count` events match `predicate`; return the matches."""
        return wait_until(
            lambda: (found if len(found := [e for e in self.poll() if predicate(e)]) >= count else None),
            what, timeout=timeout,
        )


@contextmanager
def event_tap(amqp_url: str, exchange: str, types: tuple[str, ...] = OUTBOUND_TYPES) -> Iterator[EventTap]:
    """Yield an `EventTap` on a queue of its own, deleted with its connection."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        declare_exchange(channel, exchange)
        queue = channel.queue_declare("", exclusive=True).method.queue
        for routing_key in types:
            channel.queue_bind(queue, exchange, routing_key=routing_key)
        yield EventTap(channel, queue)
    finally:
        if connection.is_open:
            connection.close()


def scrape(running: RunProcess) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Return every sample of `/metrics` by (name, sorted labels)."""
    response = running.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def metric(samples: Mapping[tuple[str, tuple[tuple[str, str], ...]], float], name: str,
           **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels` (0 when there is none)."""
    wanted = set(labels.items())
    return sum(value for (sample, sample_labels), value in samples.items()
               if sample == name and wanted <= set(sample_labels))


def inbound(type_: str, data: Mapping[str, Any], *, source: str = "e2e-tests") -> dict[str, Any]:
    """Return an inbound CloudEvent of `type_` with a random id."""
    return {
        "specversion": "1.0", "id": str(uuid.uuid4()), "source": source, "type": type_,
        "time": datetime.now(UTC).isoformat(), "datacontenttype": "application/json", "data": dict(data),
    }


def installed(
    integration_id: str, account_id: str, seller_id: str, token: str, **extra: Any
) -> dict[str, Any]:
    """Return an `integration.installed` event for the app "rakuten"."""
    return inbound("integration.installed", {
        "integration_id": integration_id, "account_id": account_id, "app": "rakuten",
        "application_name": "Rakuten", "seller_id": seller_id, "token": token,
        "stock_sync_enabled": False, **extra,
    })


def stock_changed(account_id: str, sku: str, quantity: int, **extra: Any) -> dict[str, Any]:
    """Return a `stock.changed` event."""
    return inbound("stock.changed", {"account_id": account_id, "sku": sku, "quantity": quantity, **extra})
