"""Errors of the database layer.

DatabaseError
 └── MigrationError
"""

from __future__ import annotations


class DatabaseError(Exception):
    """Raised when the database layer cannot do what it was asked."""


class MigrationError(DatabaseError):
    """Raised when a migration file cannot be applied."""
