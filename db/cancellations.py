"""The merchant's refusals and cancellations: one tracked, fenced step per item.

An `order.cancel_requested` makes one step per item (`add`); the scheduler claims
due steps (`db.schedule.claim_cancellations`, which raises `lease_token`); the
worker starts a step with its token (`db.leases`, work `CANCEL`), reads it (`step`,
the row locked by `leases.holds`), calls Rakuten, and records the outcome only while
the token is still current (`finish`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

INSERT_STEPS = """
INSERT INTO order_cancellations (integration_id, request_id, item_id, order_id, reason, due_at)
SELECT %(integration_id)s, %(request_id)s, i, %(order_id)s, %(reason)s, now()
FROM unnest(%(items)s::text[]) AS i
ON CONFLICT DO NOTHING
"""
# Under the item's row lock (the one an acceptance takes to start): once this is
# committed no acceptance of these items starts, and a pending one is withdrawn.
MARK_REQUESTED = """
UPDATE order_items SET cancel_requested_at = coalesce(cancel_requested_at, now()),
    accept_state = CASE WHEN accept_state IN ('pending', 'failed') THEN 'none' ELSE accept_state END,
    accept_due_at = CASE WHEN accept_state IN ('pending', 'failed') THEN NULL ELSE accept_due_at END
WHERE integration_id = %(integration_id)s AND item_id = ANY(%(items)s)
"""
STEP = """
SELECT order_id, reason, attempts, unconfirmed, failure, error FROM order_cancellations
WHERE integration_id = %(integration_id)s AND request_id = %(request_id)s AND item_id = %(item_id)s
  AND lease_token = %(token)s AND state = 'pending'
"""
ACCEPT_UNDER_WAY = """
SELECT accept_started_at > now() - make_interval(secs => %(within_s)s) FROM order_items
WHERE integration_id = %(integration_id)s AND item_id = %(item_id)s AND accept_started_at IS NOT NULL
"""
FINISH = """
UPDATE order_cancellations SET state = %(state)s, action = coalesce(%(action)s, action),
    attempts = attempts + %(attempted)s::int, unconfirmed = unconfirmed OR %(unconfirmed)s,
    failure = %(failure)s, error = %(error)s,
    due_at = CASE WHEN %(retry_in_s)s::float8 IS NULL THEN NULL
                  ELSE now() + make_interval(secs => %(retry_in_s)s) END,
    finished_at = CASE WHEN %(state)s = 'pending' THEN NULL ELSE now() END
WHERE integration_id = %(integration_id)s AND request_id = %(request_id)s AND item_id = %(item_id)s
  AND lease_token = %(token)s
"""


@dataclass(frozen=True)
class StepKey:
    """One step: the item `item_id` of the `order.cancel_requested` `request_id`."""

    integration_id: str
    request_id: str
    item_id: str

    @property
    def key(self) -> tuple[str, str, str]:
        """The step's key, as `db.leases.CANCEL` names it."""
        return (self.integration_id, self.request_id, self.item_id)

    def params(self, token: int, **extra: object) -> dict[str, object]:
        """Query parameters naming this step and a token."""
        return {
            "integration_id": self.integration_id,
            "request_id": self.request_id,
            "item_id": self.item_id,
            "token": token,
            **extra,
        }


@dataclass(frozen=True)
class Step:
    """A started step: what to cancel, and what earlier attempts left."""

    order_id: str
    reason: str  #: the merchant's message to the buyer
    attempts: int
    unconfirmed: bool  #: an earlier attempt's answer was lost: Rakuten may have done it
    failure: str | None  #: set while pending: the failure to report unless the item ended meanwhile
    error: str | None


@dataclass(frozen=True)
class Outcome:
    """How a step ends, or waits: `state` pending with `retry_in_s` is tried again then."""

    state: str
    action: str | None = None
    attempted: bool = False
    unconfirmed: bool = False
    failure: str | None = None
    error: str | None = None
    retry_in_s: float | None = None


def add(
    conn: psycopg.Connection[Any],
    integration_id: str,
    request_id: str,
    order_id: str,
    item_ids: Sequence[str],
    reason: str,
) -> None:
    """Record the steps of a request (the items' rows locked) and stop their acceptance."""
    params = {
        "integration_id": integration_id,
        "request_id": request_id,
        "order_id": order_id,
        "items": list(item_ids),
        "reason": reason,
    }
    conn.execute(INSERT_STEPS, params)
    conn.execute(MARK_REQUESTED, params)


def step(conn: psycopg.Connection[Any], key: StepKey, token: int) -> Step | None:
    """The pending step `token` holds; None when it is stale or the step ended."""
    row = conn.execute(STEP, key.params(token)).fetchone()
    return Step(row[0], row[1], int(row[2]), bool(row[3]), row[4], row[5]) if row else None


def acceptance_under_way(conn: psycopg.Connection[Any], key: StepKey, *, within_s: float) -> bool:
    """Whether an automatic acceptance of the item started less than `within_s` ago, unfinished."""
    row = conn.execute(
        ACCEPT_UNDER_WAY,
        {"integration_id": key.integration_id, "item_id": key.item_id, "within_s": within_s},
    ).fetchone()
    return bool(row and row[0])


def finish(conn: psycopg.Connection[Any], key: StepKey, token: int, outcome: Outcome) -> bool:
    """Record a step's outcome while `token` is current; False when it no longer is."""
    params = key.params(
        token,
        state=outcome.state,
        action=outcome.action,
        attempted=int(outcome.attempted),
        unconfirmed=outcome.unconfirmed,
        failure=outcome.failure,
        error=outcome.error,
        retry_in_s=outcome.retry_in_s,
    )
    return conn.execute(FINISH, params).rowcount == 1
