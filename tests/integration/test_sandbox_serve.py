"""serve(): the foreground sandbox process announces its URL and stops cleanly on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys

import httpx

SCRIPT = "from connectors.rakuten.sandbox import serve; serve('127.0.0.1', 0)"


def test_serve_answers_requests_and_exits_zero_on_sigterm() -> None:
    process = subprocess.Popen([sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # blocks until serve() announces itself
        url = line.rsplit(" ", 1)[-1].strip()
        assert line.startswith("Rakuten sandbox listening on http://127.0.0.1:"), line

        created = httpx.post(f"{url}/_sandbox/sellers", json={"login": "a", "token": "b"}, timeout=5)
        process.send_signal(signal.SIGTERM)
        returncode = process.wait(timeout=10)
    finally:
        process.kill()
        process.wait(timeout=10)

    assert created.status_code == 200
    assert returncode == 0
