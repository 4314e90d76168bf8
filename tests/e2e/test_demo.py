"""`rakuten-worker demo` as a newcomer runs it: only PostgreSQL and RabbitMQ, no other setup."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests.fixtures.services import ServiceUrls

ROOT = Path(__file__).resolve().parents[2]
DEMO_TIMEOUT_S = 120  #: seconds; the demo itself promises under 60


def _run_demo(database_url: str, rabbitmq_url: str, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "RABBITMQ_URL": rabbitmq_url,
           "PYTHONIOENCODING": "utf-8"}
    env.pop("TOKEN_ENCRYPTION_KEY", None)  # the demo must not need one
    return subprocess.run(
        [sys.executable, "-m", "workers", "demo"],
        cwd=ROOT, env=env, capture_output=True, text=True, encoding="utf-8", timeout=timeout, check=False,
    )


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
def test_demo_shows_every_step_then_removes_its_database_and_vhost(service_urls: ServiceUrls) -> None:
    result = _run_demo(service_urls.database, service_urls.rabbitmq, DEMO_TIMEOUT_S)
    out = result.stdout
    assert result.returncode == 0, f"demo failed:\n{out}\n{result.stderr}"

    assert re.search(r"Credentials verified: Rakuten seller id \d+ \(integration\.verified\)", out)
    assert "3 orders imported" in out
    assert len(re.findall(r"^\s+#\d+ ", out, re.MULTILINE)) == 3, "one line per order"
    assert "2 × WG-MUG-BLEU" in out, "two items of one SKU are shown as one line"
    assert "Hélène Lefèvre" in out and "Nîmes" in out, "Latin-1 names come through intact"
    assert "pickup point" in out
    assert "Held: Rakuten has not accepted the sale yet, so its 2 items wait" in out
    assert re.search(r"Rakuten took the shipment of items \d+, \d+ \(order\.shipment_confirmed, "
                     r"carrier 'Colissimo'\)", out)
    assert len(re.findall(r"on Rakuten: Colissimo 6A\d+ \(1 settrackingpackageinfos call\)", out)) == 2
    assert re.search(r"order\.updated: item \S+ TO_CONFIRM → CANCELLED \(cancelled_by_buyer\)", out), \
        "a buyer's cancellation arrives as order.updated"
    assert re.search(r"Rakuten received (1 stock file|\d+ stock files) for the 50 events", out)
    assert "Rakuten received the next file" in out
    assert len(re.findall(r'Import report of file \d+ read: "Traité"', out)) >= 2
    assert "Rakuten's quantities equal the newest event of every SKU" in out
    assert "/healthz" in out and '"healthy": true' in out
    assert "Worker stopped on SIGTERM" in out
    assert re.search(r"^Done after \d+\.\ds\.", out, re.MULTILINE)
    assert "\r" not in out and "\033[" not in out, "no spinner when stdout is not a terminal"

    database = re.search(r"database (rakuten_demo_[0-9a-f]+)", out)
    assert database is not None
    assert "Removed vhost rakuten-demo-" in out or "Removed exchange" in out
    with psycopg.connect(service_urls.database) as conn:
        left = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database.group(1),)).fetchone()
    assert left is None, "the demo database is dropped at the end"


@pytest.mark.parametrize("missing", ["PostgreSQL", "RabbitMQ"])
def test_demo_without_a_service_says_how_to_start_it_in_one_line(
    missing: str, service_urls: ServiceUrls
) -> None:
    port = _closed_port()  # nothing listens there
    database_url, rabbitmq_url = service_urls.database, service_urls.rabbitmq
    if missing == "PostgreSQL":
        database_url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    else:
        rabbitmq_url = f"amqp://guest:guest@127.0.0.1:{port}/%2F"

    result = _run_demo(database_url, rabbitmq_url, 30)

    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"rakuten-worker demo: cannot reach {missing} at ")
    assert f"127.0.0.1:{port}" in lines[0]
    assert "scripts/services.sh" in lines[0] and "docker compose up -d postgres rabbitmq" in lines[0]
    assert "Traceback" not in result.stdout + result.stderr
