"""Masking secrets in text that may reach a log line, an error text or a repr.

A last line of defence: no code path is meant to log a token or a password, but
a third-party exception may carry a URL with one.
"""

from __future__ import annotations

import re

#: query parameters whose value must never be printed (Rakuten's `pwd` is the token)
_SECRET_PARAM = re.compile(r"(?i)\b(pwd|token|password)=([^&\s'\"]+)")
#: the password part of a URL's user information (`scheme://user:password@host`)
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*):[^@\s]*@")


def scrub_url_passwords(text: str) -> str:
    """Replace the password of every URL in `text` with `***`."""
    return _URL_PASSWORD.sub(r"\1:***@", text)


def scrub(text: str) -> str:
    """Mask token parameters and URL passwords in `text`."""
    return scrub_url_passwords(_SECRET_PARAM.sub(r"\1=***", text))
