"""The seller's token never shows up in an error's text, repr, traceback or any log line."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from urllib.parse import quote, quote_plus
from xml.sax.saxutils import escape

import httpx
import pytest

from connectors.rakuten import (
    Credentials,
    RakutenAuthError,
    RakutenClient,
    RakutenError,
    RakutenInsufficientRights,
    RakutenRateLimited,
    RakutenRejected,
    RakutenResponseInvalid,
    RakutenUnavailable,
)

TOKEN = "Tk-SeCrEt 9&z/+é"
FORMS = {TOKEN, quote(TOKEN, safe=""), quote_plus(TOKEN), "SeCrEt"}
Handler = Callable[[httpx.Request], httpx.Response]


def echoing_error(code: str, message: str) -> Handler:
    """Answer with an errorresponse whose detail quotes the full URL, as a careless server might."""

    def handler(request: httpx.Request) -> httpx.Response:
        detail = f"The parameter pwd '{TOKEN}' is invalid for {request.url}"
        body = (
            f"<errorresponse><error><type>Sender</type><code>{code}</code>"
            f"<message>{message} {escape(TOKEN)}</message><details><detail><![CDATA[{detail}]]>"
            f"</detail></details></error></errorresponse>"
        )
        return httpx.Response(500, content=body.encode())

    return handler


def failing_with_url(failure: type[httpx.TransportError]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise failure(f"could not reach {request.url} with pwd={TOKEN}", request=request)

    return handler


SCENARIOS: dict[str, tuple[Handler, type[RakutenError]]] = {
    "rejected": (echoing_error("ParameterError", "Problem with parameters."), RakutenRejected),
    "auth": (echoing_error("InvalidUserConnection", "Unknown user or password."), RakutenAuthError),
    "rights": (echoing_error("InvalidUserRights", "Forbidden."), RakutenInsufficientRights),
    "quota": (echoing_error("InvalidUserRights", "Quota exceeded."), RakutenRateLimited),
    "server": (echoing_error("ServerError", "Server not able."), RakutenUnavailable),
    "connect": (failing_with_url(httpx.ConnectError), RakutenUnavailable),
    "timeout": (failing_with_url(httpx.ReadTimeout), RakutenUnavailable),
    "503": (lambda r: httpx.Response(503, content=b""), RakutenUnavailable),
    "garbage": (lambda r: httpx.Response(200, content=f"<a>{r.url}".encode()), RakutenResponseInvalid),
    "too-large": (lambda r: httpx.Response(200, content=b"<a>" + b"x" * 5000), RakutenResponseInvalid),
}


def assert_no_token(text: str) -> None:
    for form in FORMS:
        assert form not in text


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_errors_and_logs_never_reveal_the_token(
    scenario: str, caplog: pytest.LogCaptureFixture
) -> None:
    handler, expected = SCENARIOS[scenario]
    client = RakutenClient(
        base_url="https://ws.example.test",
        transport=httpx.MockTransport(handler),
        max_response_bytes=4096,
    )
    with caplog.at_level(logging.DEBUG), client, pytest.raises(expected) as caught:
        client.check_credentials(Credentials(login="shop", token=TOKEN))
    error = caught.value
    assert type(error) is expected
    assert_no_token(str(error))
    assert_no_token(repr(error))
    assert_no_token("".join(traceback.format_exception(error)))
    if isinstance(error, RakutenRejected):
        assert_no_token(f"{error.message} {error.detail}")
    assert caplog.records, "the client logs each call"
    assert_no_token(caplog.text)
    assert_no_token(" ".join(repr(r.args) for r in caplog.records))


def test_successful_calls_log_without_the_token_and_httpx_never_sees_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sent: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.url)
        return httpx.Response(200, content=b"<r><response><sellerid>7</sellerid></response></r>")

    client = RakutenClient(base_url="https://ws.example.test", transport=httpx.MockTransport(handler))
    # httpx's own level too: `setup_logging` (run by CLI tests earlier) quiets it at WARNING
    with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger="httpx"), client:
        assert client.check_credentials(Credentials(login="shop", token=TOKEN)) == "7"
    assert sent[0].params["pwd"] == TOKEN  # the token is still sent to Rakuten
    assert any(r.name == "httpx" for r in caplog.records)
    assert_no_token(caplog.text)
