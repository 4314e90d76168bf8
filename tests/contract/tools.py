"""The external tools the contract tests run, installed by `scripts/tools.sh` (`make test` runs it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ASYNCAPI_CLI = ROOT / ".tools" / "asyncapi" / "node_modules" / ".bin" / "asyncapi"


def asyncapi_cli() -> Path:
    """Return the AsyncAPI CLI; fail (never skip) when it is not installed."""
    if not ASYNCAPI_CLI.exists():
        pytest.fail(f"the AsyncAPI CLI is not installed at {ASYNCAPI_CLI}: run scripts/tools.sh")
    return ASYNCAPI_CLI


def promtool() -> str:
    """Return Prometheus's promtool; fail (never skip) when it is not installed."""
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is not installed (Debian package prometheus): run scripts/tools.sh as root")
    return found
