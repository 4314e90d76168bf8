"""Masking secrets in text meant for people: log lines, error messages, printed URLs.

A last line of defence (no code path is meant to print a secret): the values of
query parameters that carry Rakuten's token (`pwd=`, `token=`) and the password
of a URL (`scheme://user:password@host`). The Rakuten library masks its own
errors with `connectors.rakuten.errors.redact`, as it imports nothing of ours.
"""

from __future__ import annotations

import re

_MASK = "***"
#: query parameters whose value must never be printed
_SECRET_PARAM = re.compile(r"(?i)\b(pwd|token)=[^&\s'\"]+")
#: the password of a URL's user information (it cannot hold "/" or "@" unencoded)
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/@\s]*):[^@/\s]*@")


def redact(text: str) -> str:
    """Return `text` with token parameters' values and URL passwords masked."""
    text = _SECRET_PARAM.sub(rf"\1={_MASK}", text)
    return _URL_PASSWORD.sub(rf"\1:{_MASK}@", text)
