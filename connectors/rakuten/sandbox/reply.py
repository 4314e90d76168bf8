"""What the HTTP handler sends back: a status, a content type and a body (or a stream)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Reply:
    """An HTTP answer; `stream` and `length` replace `body` for large streamed bodies."""

    status: int
    content_type: str
    body: bytes = b""
    stream: Iterable[bytes] | None = None
    length: int = 0
    error_code: str = ""  #: recorded in the request log (Rakuten error code or fault kind)


def json_reply(payload: Any, status: int = 200) -> Reply:
    """Return a JSON answer of the control API."""
    return Reply(status, "application/json", json.dumps(payload).encode("utf-8"))


def text_reply(message: str, status: int) -> Reply:
    """Return a plain-text answer."""
    return Reply(status, "text/plain; charset=utf-8", message.encode("utf-8"))
