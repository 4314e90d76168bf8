"""Scheduler heartbeats: when each scheduler last completed a tick."""

from __future__ import annotations

from typing import Any

import psycopg

BEAT = """
INSERT INTO scheduler_heartbeats (scheduler_id) VALUES (%(id)s)
ON CONFLICT (scheduler_id) DO UPDATE SET ticked_at = now()
"""
AGE = "SELECT extract(epoch FROM now() - ticked_at) FROM scheduler_heartbeats WHERE scheduler_id = %(id)s"


def beat(conn: psycopg.Connection[Any], scheduler_id: str) -> None:
    """Record that the scheduler completed a tick now."""
    conn.execute(BEAT, {"id": scheduler_id})


def age_s(conn: psycopg.Connection[Any], scheduler_id: str) -> float | None:
    """Seconds since the scheduler's last tick, or None when it never ticked."""
    row = conn.execute(AGE, {"id": scheduler_id}).fetchone()
    return float(row[0]) if row else None
