"""The HTTP side of the client: the token added below httpx, bounded bodies, httpx's errors made ours.

Rakuten wants the token in the query string as ``pwd``; :class:`TokenTransport` adds it
only as the request leaves, so the URLs httpx logs and attaches to its exceptions never
hold it. This module is the one place httpx errors become ours, and their text (which
may quote the URL) is scrubbed of the token on the way.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from .errors import RakutenError, RakutenResponseInvalid, RakutenUnavailable, redact

__all__ = ["TOKEN_EXTENSION", "Answer", "TokenTransport", "open_answer"]

TOKEN_EXTENSION = "rakuten_pwd"


class TokenTransport(httpx.BaseTransport):
    """Add the ``pwd`` query parameter at the last moment, below httpx's logging."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        extensions = dict(request.extensions)
        token = extensions.pop(TOKEN_EXTENSION, None)
        if isinstance(token, str):
            request = httpx.Request(
                request.method,
                request.url.copy_add_param("pwd", token),
                headers=request.headers,
                stream=request.stream,
                extensions=extensions,
            )
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def _ours(exc: httpx.HTTPError, action: str, token: str) -> RakutenError:
    exc.args = tuple(redact(str(a), token) for a in exc.args)
    # A body that fails content-decoding is a bad answer, not an outage.
    error_class = RakutenResponseInvalid if isinstance(exc, httpx.DecodingError) else RakutenUnavailable
    return error_class(f"Rakuten {action} failed: {type(exc).__name__}: {exc}")


class Answer:
    """The answer to one call, its body read chunk by chunk and never past ``limit`` bytes."""

    def __init__(self, response: httpx.Response, *, action: str, token: str, limit: int) -> None:
        self._response = response
        self._action = action
        self._token = token
        self._limit = limit
        self.status = response.status_code
        #: bytes of body read so far
        self.size = 0

    def chunks(self) -> Iterator[bytes]:
        """Yield the body as it arrives.

        Raises:
            RakutenResponseInvalid: the body is (or says it is) over the limit, or
                cannot be decoded.
            RakutenUnavailable: the connection fails or times out while reading.
        """
        declared = self._response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._limit:
            raise self._oversized()
        try:
            for chunk in self._response.iter_bytes():
                self.size += len(chunk)
                if self.size > self._limit:  # stop reading: never hold more than the limit
                    raise self._oversized()
                yield chunk
        except httpx.HTTPError as exc:
            raise _ours(exc, self._action, self._token) from exc

    def read(self) -> bytes:
        """Return the whole body (within the limit)."""
        return b"".join(self.chunks())

    def _oversized(self) -> RakutenResponseInvalid:
        return RakutenResponseInvalid(f"Rakuten {self._action} body over {self._limit} bytes")


@contextmanager
def open_answer(
    http: httpx.Client, request: httpx.Request, *, action: str, token: str, limit: int
) -> Iterator[Answer]:
    """Send the request and hold its answer open for reading; closed when the block ends.

    Raises:
        RakutenUnavailable: Rakuten cannot be reached or does not answer in time.
    """
    try:
        response = http.send(request, stream=True)
    except httpx.HTTPError as exc:
        raise _ours(exc, action, token) from exc
    try:
        yield Answer(response, action=action, token=token, limit=limit)
    finally:
        response.close()
