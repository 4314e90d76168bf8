"""Errors of the events package.

    EventError
     ├── InvalidEvent      (a message that must be dead-lettered; carries reason and kind)
     ├── EventIgnored      (a well-formed event for another app: acknowledge, do nothing)
     └── PublishFailed     (the broker did not confirm every message of a batch)
"""

from __future__ import annotations

from typing import Literal

#: Why a message was dead-lettered; the label of the dead-letter metric.
RejectionKind = Literal[
    "not_json",
    "not_cloudevent",
    "unknown_type",
    "invalid_data",
    "too_large",
    "bad_content_type",
    "handler_failed",
    "handler_retries_exhausted",
]


class EventError(Exception):
    """Raised when an event cannot be read, applied or published."""


class InvalidEvent(EventError):
    """Raised when an inbound message is not a valid event of the contract.

    `reason` is short, human readable and free of secrets (never an input value),
    so it can go into the `x-rejection-reason` header and the logs.
    """

    def __init__(self, reason: str, *, kind: RejectionKind = "invalid_data") -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind: RejectionKind = kind


class EventIgnored(EventError):
    """Raised when a well-formed `integration.*` event is addressed to another app."""

    def __init__(self, event_type: str, app: str) -> None:
        super().__init__(f"{event_type} for app {app!r} is not ours")
        self.event_type = event_type
        self.app = app


class PublishFailed(EventError):
    """Raised when the broker did not confirm every message of a batch.

    Causes: a nack, an unroutable message, a closed channel or connection, or no
    confirm in time. Some messages may have been delivered anyway: publishing is
    at least once, with deterministic ids.
    """
