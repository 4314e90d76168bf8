"""Timestamps on the wire: RFC 3339, in UTC, with a `Z`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AwareDatetime, PlainSerializer, WithJsonSchema


def rfc3339(moment: datetime) -> str:
    """Format an aware datetime as RFC 3339 in UTC (`...Z`); reject a naive one."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a naive datetime has no defined instant")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


#: An aware datetime, published as RFC 3339 in UTC.
UtcTime = Annotated[
    AwareDatetime,
    PlainSerializer(rfc3339, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
