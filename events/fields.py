"""Field types shared by the inbound data models (`events.inbound`, `events.inbound_orders`)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BeforeValidator, ConfigDict, Field


def strip_non_blank(value: object) -> object:
    """Strip a string of surrounding whitespace; reject it when nothing is left."""
    if isinstance(value, str):
        value = value.strip()
        if not value:
            raise ValueError("must not be blank")
    return value


#: RFC 3339 date-time (pydantic alone would also take "1709283600" as a Unix time).
_RFC3339 = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(\.\d{1,6})?\d*([Zz]|[+-]\d{2}:\d{2})",
    re.ASCII,
)


def _rfc3339(value: object) -> object:
    """Parse an RFC 3339 string (fractions past microseconds are cut); leave others to fail."""
    if not isinstance(value, str):
        return value
    match = _RFC3339.fullmatch(value)
    if match is None:
        raise ValueError("must be an RFC 3339 timestamp with an offset")
    date, clock, fraction, offset = match.groups()
    offset = "+00:00" if offset in ("Z", "z") else offset
    try:
        return datetime.fromisoformat(f"{date}T{clock}{fraction or ''}{offset}")
    except ValueError:
        raise ValueError("must be a valid RFC 3339 timestamp") from None


Id64 = Annotated[str, Field(min_length=1, max_length=64)]
#: An RFC 3339 timestamp with an offset, as an aware datetime.
Rfc3339Time = Annotated[AwareDatetime, BeforeValidator(_rfc3339)]

#: Strict data models: no `"5"` for 5; unknown fields are ignored.
DATA_CONFIG = ConfigDict(strict=True, extra="ignore", frozen=True)
