"""Shared fixtures: real services (tests/fixtures/services.py)."""

pytest_plugins = ["tests.fixtures.services"]
