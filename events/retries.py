"""The ingress's retry budget: how long one event may keep failing "transiently".

A failure that looks transient (a deadlock, a cancelled statement, a dropped
connection) but comes back at every attempt is not transient: after
`max_attempts` failed attempts, or `window_s` seconds after its first failure,
the event is given up on (dead-lettered) so the events behind it go on. The
count is kept per event id, so it survives a redelivery of the same message
after a reconnection. Time spent waiting for a database that does not answer at
all is not charged to the event.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

#: events whose failures are remembered at once; the oldest are forgotten first
MAX_TRACKED = 10_000


@dataclass(slots=True)
class Failures:
    """The transient failures of one event so far."""

    attempts: int
    first_at: float  #: monotonic time of the first failure, moved on by database waits

    def age(self, now: float) -> float:
        """Seconds the event has been failing, database waits excluded."""
        return now - self.first_at


class RetryBudget:
    """Counts each event's transient failures and says when to give up."""

    def __init__(self, *, max_attempts: int, window_s: float) -> None:
        if max_attempts < 1 or window_s <= 0:
            raise ValueError("max_attempts must be at least 1 and window_s positive")
        self.max_attempts = max_attempts
        self.window_s = window_s
        self._failures: OrderedDict[str, Failures] = OrderedDict()

    def failed(self, event_id: str) -> Failures:
        """Count one more failed attempt of `event_id`; return its failures so far."""
        now = time.monotonic()
        failures = self._failures.pop(event_id, None) or Failures(0, now)
        failures.attempts += 1
        self._failures[event_id] = failures
        while len(self._failures) > MAX_TRACKED:
            self._failures.popitem(last=False)
        return failures

    def exhausted(self, failures: Failures) -> bool:
        """Whether the event has failed `max_attempts` times or for `window_s` seconds."""
        return failures.attempts >= self.max_attempts or failures.age(time.monotonic()) >= self.window_s

    def waited(self, event_id: str, seconds: float) -> None:
        """Do not charge `seconds` spent waiting for the database to the event's window."""
        failures = self._failures.get(event_id)
        if failures is not None:
            failures.first_at += seconds

    def forget(self, event_id: str) -> None:
        """The event was applied or dead-lettered: its count starts afresh if it comes back."""
        self._failures.pop(event_id, None)
