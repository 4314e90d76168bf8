"""Fixtures of the flow tests: a World on a database of the test's own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.rakuten.sandbox import Sandbox
from tests.flows.harness import World, world


@pytest.fixture
def w(fresh_database: str, sandbox: Sandbox) -> Iterator[World]:
    """The connector wired for one test, with default (long) intervals."""
    with world(fresh_database, sandbox) as built:
        yield built
