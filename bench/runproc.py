"""The real processes of the end-to-end figures: `rakuten-worker run` and the sandbox, as subprocesses.

`start_sandbox` runs `python -m workers sandbox --port 0` (so serving the
answers costs the benchmark process nothing) and gives its URL; `SandboxControl`
seeds it over its control API. `start_run` runs `python -m workers run` with
the benchmark's database, vhost and sandbox, waits until `/healthz` answers 200
and the ingress consumes, and stops it (SIGTERM, then SIGKILL of its group).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
import pika
import pika.exceptions
from cryptography.fernet import Fernet

START_TIMEOUT_S = 60.0  #: seconds for a process to be ready
STOP_TIMEOUT_S = 60.0  #: seconds for `run` to stop after SIGTERM
#: environment a parent may carry that must not leak into `run`'s own metrics group
GROUP_ENV = ("PROMETHEUS_MULTIPROC_DIR", "dramatiq_prom_db", "RAKUTEN_METRICS_CHILD")
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def environment(extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without another metrics group's variables, plus `extra`."""
    env = {key: value for key, value in os.environ.items() if key not in GROUP_ENV}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def _wait(condition: Any, what: str, *, timeout: float = START_TIMEOUT_S, every: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} after {timeout}s")
        time.sleep(every)
    return result


class SandboxControl:
    """The sandbox's control API over HTTP (JSON in and out)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._http = httpx.Client(base_url=url, timeout=120.0)

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    def _post(self, path: str, body: Mapping[str, Any]) -> Any:
        response = self._http.post(path, json=dict(body))
        response.raise_for_status()
        return response.json()

    def add_seller(self, login: str, token: str) -> None:
        """Add a professional seller."""
        self._post("/_sandbox/sellers", {"login": login, "token": token})

    def add_sales(self, login: str, sales: Sequence[Mapping[str, Any]]) -> None:
        """Add sales (the control API's sale objects) to a seller."""
        self._post(f"/_sandbox/sellers/{login}/sales", {"sales": list(sales)})


@contextmanager
def start_sandbox() -> Iterator[SandboxControl]:
    """A sandbox in a process of its own, stopped at the end."""
    process = subprocess.Popen(
        [sys.executable, "-m", "workers", "sandbox", "--port", "0"], env=environment({}),
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        url = _sandbox_url(process.stdout)
        control = SandboxControl(url)
        try:
            yield control
        finally:
            control.close()
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _sandbox_url(stdout: IO[bytes] | None) -> str:
    assert stdout is not None
    line = stdout.readline().decode()  # "Rakuten sandbox listening on http://127.0.0.1:PORT"
    if "listening on " not in line:
        raise RuntimeError(f"the sandbox did not start: {line!r}")
    return line.rsplit("listening on ", 1)[1].strip()


def run_environment(*, database_url: str, amqp_url: str, rakuten_url: str, **extra: str) -> dict[str, str]:
    """The environment of a `run` process: these services, its own metrics port, JSON logs."""
    return environment({
        "DATABASE_URL": database_url,
        "RABBITMQ_URL": amqp_url,
        "TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "RAKUTEN_BASE_URL": rakuten_url,
        "METRICS_PORT": str(free_port()),
        "METRICS_HOST": "127.0.0.1",
        "EVENTS_EXCHANGE": "bench.events",
        "EVENTS_QUEUE": "bench.inbox",
        "LOG_FORMAT": "json",
        **extra,
    })


@dataclass
class RunGroup:
    """A running `python -m workers run`: its process, environment and log."""

    process: subprocess.Popen[bytes]
    env: dict[str, str]
    log_path: Path

    @property
    def metrics_url(self) -> str:
        """The base URL of `/metrics` and `/healthz`."""
        return f"http://127.0.0.1:{self.env['METRICS_PORT']}"

    def children(self) -> dict[str, int]:
        """The live children of `run`: part name (ingress, worker, scheduler) -> pid."""
        found: dict[str, int] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                argv = [w.decode() for w in (entry / "cmdline").read_bytes().split(b"\0") if w]
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == self.process.pid and fields[0] != "Z" and "workers" in argv[:-1]:
                found[argv[argv.index("workers") + 1]] = int(entry.name)
        return found

    def log_lines(self) -> list[str]:
        """Every line `run` and its children wrote so far."""
        return self.log_path.read_text(errors="replace").splitlines()

    def stop(self) -> None:
        """SIGTERM `run`; kill its whole group if it does not stop in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def _healthy(group: RunGroup) -> bool:
    if group.process.poll() is not None:
        tail = "\n".join(group.log_lines()[-20:])
        raise RuntimeError(f"`run` exited with {group.process.returncode}:\n{tail}")
    try:
        return httpx.get(group.metrics_url + "/healthz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def consumers(amqp_url: str, queue: str) -> int:
    """How many consumers `queue` has (0 when it does not exist yet)."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        return int(connection.channel().queue_declare(queue, passive=True).method.consumer_count)
    except pika.exceptions.ChannelClosedByBroker:
        return 0
    finally:
        if connection.is_open:
            connection.close()


@contextmanager
def start_run(env: Mapping[str, str], log_path: Path, *args: str) -> Iterator[RunGroup]:
    """Start `python -m workers run ARGS`; yield once it is healthy and consuming; stop it after."""
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "workers", "run", *args], env=dict(env), cwd=ROOT,
            stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
        )
    group = RunGroup(process, dict(env), log_path)
    try:
        _wait(lambda: _healthy(group), "`run` not healthy")
        _wait(lambda: consumers(env["RABBITMQ_URL"], env["EVENTS_QUEUE"]) > 0, "no ingress consumer")
        _wait(lambda: {"ingress", "worker", "scheduler"} <= set(group.children()), "children missing")
        yield group
    finally:
        group.stop()
