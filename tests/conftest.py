"""Shared fixtures: real services (tests/fixtures/services.py) and the Rakuten sandbox."""

pytest_plugins = ["tests.fixtures.services", "tests.fixtures.sandbox", "tests.fixtures.logging"]
