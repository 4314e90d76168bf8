"""`/metrics` and `/healthz` while processes write their samples: every request gets an answer.

prometheus_client creates a samples file empty, then grows it; a scrape or a
health check that reads it meanwhile must skip it, not crash the request, and
whatever happens the log stays one JSON object per line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.mmap_dict import MmapedDict, mmap_key

from tests.e2e.helpers import free_port
from workers.logs import setup_logging
from workers.observability.health import Health
from workers.observability.server import serve
from workers.settings import load_settings

LOOP_S = 3.0  #: seconds of requests while files appear and disappear
TICK = "rakuten_scheduler_last_tick_timestamp_seconds"


def write_tick(folder: Path, pid: int, when: float) -> None:
    """Write a scheduler tick as the scheduler process `pid` would (a readable file)."""
    samples = MmapedDict(str(folder / f"gauge_max_{pid}.db"))
    samples.write_value(mmap_key(TICK, TICK, [], [], "Last tick."), when, 0.0)
    samples.close()


def dead_pid() -> int:
    """The pid of a process that has exited."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.fixture
def metrics_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    yield tmp_path


def test_metrics_and_healthz_answer_every_request_while_samples_files_are_empty_or_truncated(
    metrics_folder: Path, database_url: str, rabbitmq_url: str, capfd: pytest.CaptureFixture[str],
    restored_logging: None,
) -> None:
    live, gone = os.getpid(), dead_pid()
    write_tick(metrics_folder, live, time.time())
    (metrics_folder / f"counter_{live}.db").write_bytes(b"")  # created, not grown yet
    (metrics_folder / f"histogram_{live}.db").write_bytes((4096).to_bytes(4, "little") + b"\0" * 12)
    (metrics_folder / f"counter_{gone}.db").write_bytes(b"\x01")  # left half-written by a dead process
    settings = load_settings(database_url=database_url, rabbitmq_url=rabbitmq_url, metrics_port=free_port())
    setup_logging(fmt="json", level="DEBUG")
    health = Health(settings)
    server = serve(settings, health, cache_s=0)  # every request reads the files anew
    assert server is not None
    stop = threading.Event()

    def churn() -> None:  # files caught between creation and their first sample
        while not stop.is_set():
            path = metrics_folder / f"gauge_livesum_{live}.db"
            path.write_bytes(b"")
            path.write_bytes(b"\xff\xff\xff\x7f")
            path.unlink()

    churner = threading.Thread(target=churn, daemon=True)
    churner.start()
    answers: list[tuple[str, int, bytes]] = []
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        deadline = time.monotonic() + LOOP_S
        with httpx.Client(timeout=10) as http:
            while time.monotonic() < deadline:
                for path in ("/metrics", "/healthz"):
                    response = http.get(base + path)  # raises if the server closed without answering
                    answers.append((path, response.status_code, response.content))
    finally:
        stop.set()
        churner.join()
        server.shutdown()
        server.server_close()
        health.close()

    assert {path for path, _, _ in answers} == {"/metrics", "/healthz"}
    failed = {(path, status, body[:200]) for path, status, body in answers if status != 200}
    assert not failed, "every request is answered, and the unreadable files change no answer"
    scraped = [body.decode() for path, _, body in answers if path == "/metrics"]
    assert all(TICK in text for text in scraped), "the readable files are still served"
    assert all(json.loads(body)["healthy"] for path, _, body in answers if path == "/healthz")
    assert not (metrics_folder / f"counter_{gone}.db").exists(), "a dead process's unreadable file is removed"
    assert (metrics_folder / f"counter_{live}.db").exists(), "a live process's file is only skipped"
    log = capfd.readouterr().err
    assert "metrics: removing" in log, "the removal is logged"
    assert all(isinstance(json.loads(line), dict) for line in log.splitlines() if line.strip()), (
        "one JSON object per line")
