"""The client's calls after the import over httpx.MockTransport: what is sent, what the
answers become, how each refusal maps, and what is refused before any call."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from connectors.rakuten import (
    Credentials,
    RakutenAlreadyAccepted,
    RakutenAuthError,
    RakutenClient,
    RakutenError,
    RakutenItemStateError,
    RakutenNotCancellable,
    RakutenNotShippable,
    RakutenRateLimited,
    RakutenRejected,
    RakutenResponseInvalid,
    RakutenUnavailable,
    RakutenUnknownItem,
    ShipmentLine,
    ShipmentOutcome,
    TodoCause,
    TrackingResult,
)

FIXTURES = Path(__file__).parent / "fixtures" / "rakuten"
CREDS = Credentials(login="shop-login", token="tok-abc")
Handler = Callable[[httpx.Request], httpx.Response]


def make_client(handler: Handler) -> RakutenClient:
    return RakutenClient(base_url="https://ws.example.test", transport=httpx.MockTransport(handler))


def answering(body: bytes, seen: list[httpx.Request] | None = None, status: int = 200) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        if seen is not None:
            seen.append(request)
        return httpx.Response(status, content=body)

    return handler


def error_body(message: str, detail: str = "", code: str = "ParameterError", kind: str = "Sender") -> bytes:
    details = "".join(f"<detail><![CDATA[{d}]]></detail>" for d in detail.split("|") if d)
    return (
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n<errorresponse><error>'
        f"<type>{kind}</type><code>{code}</code><message>{message}</message>"
        f"<details>{details}</details></error></errorresponse>"
    ).encode("iso-8859-1")


def ok_body(root: str, status: str) -> bytes:
    response = f"<response><lastversion>x</lastversion><status>{status}</status></response>"
    return f"<{root}>{response}</{root}>".encode()


PROBLEM = "Problem with parameters."
QUOTA = error_body("Quota exceeded.", "maximum number of requests per hour", code="InvalidUserRights")
BAD_LOGIN = error_body("Unknown user or password.", code="InvalidUserConnection")
SERVER = error_body("Server not able to fullfill request.", code="ServerError", kind="ServerError")


def track(client: RakutenClient, **options: str) -> TrackingResult:
    arguments = {"transporter_name": "Colissimo", "tracking_number": "6A1", **options}
    return client.set_tracking_package_infos(CREDS, "312553677", **arguments)


def test_tracking_sends_one_get_with_the_item_carrier_number_and_url() -> None:
    seen: list[httpx.Request] = []
    body = (FIXTURES / "sample_settrackingpackageinfos.xml").read_bytes()
    with make_client(answering(body, seen)) as client:
        result = track(client, transporter_name="TNT", tracking_url="https://t.example/1")
    (request,) = seen
    assert (request.method, request.url.path) == ("GET", "/sales_ws")
    assert dict(request.url.params) == {
        "action": "settrackingpackageinfos", "login": "shop-login", "pwd": "tok-abc",
        "version": "2016-03-16", "itemid": "312553677", "transporter_name": "TNT",
        "tracking_number": "6A1", "tracking_url": "https://t.example/1",
    }
    assert (result.item_id, result.already_shipped) == ("312553677", False)


def test_tracking_an_item_already_shipped_is_success_with_the_flag() -> None:
    body = error_body(PROBLEM, "Article 312553677 : a déjà été expédié")
    with make_client(answering(body)) as client:
        result = track(client)
    assert result.already_shipped is True
    assert result.detail == "Article 312553677 : a déjà été expédié"


NOT_CONFIRMED = (
    "Article 1 : statut incorrect. L'ajout d'un numéro de suivi n'est possible que si le statut "
    "de votre article est 'confirmé'."
)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (error_body(PROBLEM, NOT_CONFIRMED), RakutenNotShippable),
        (error_body(PROBLEM, "Article 1 : numéro incorrect"), RakutenUnknownItem),
        (error_body(PROBLEM, "The parameter 'transporter_name' is invalid."), RakutenRejected),
        (QUOTA, RakutenRateLimited),
        (SERVER, RakutenUnavailable),
        (BAD_LOGIN, RakutenAuthError),
        (b"", RakutenUnavailable),
    ],
)
def test_tracking_refusals_map_to_what_the_caller_acts_on(body: bytes, expected: type[RakutenError]) -> None:
    status = 503 if not body else 200
    with make_client(answering(body, status=status)) as client:
        with pytest.raises(expected) as caught:
            track(client)
    assert type(caught.value) is expected


def test_a_mapped_refusal_keeps_rakuten_texts_and_chains_the_original() -> None:
    with make_client(answering(error_body(PROBLEM, NOT_CONFIRMED))) as client:
        with pytest.raises(RakutenNotShippable) as caught:
            track(client)
    error = caught.value
    assert (error.code, error.detail) == ("ParameterError", NOT_CONFIRMED)
    assert error.action == "settrackingpackageinfos"
    assert type(error.__cause__) is RakutenRejected


@pytest.mark.parametrize(
    "options",
    [
        {"transporter_name": "Autre"},
        {"transporter_name": "autre"},
        {"tracking_number": " "},
        {"transporter_name": ""},
        {"tracking_url": "ftp://t.example/1"},
        {"tracking_url": "suivi.example/1"},
    ],
)
def test_bad_tracking_arguments_are_refused_before_any_call(options: dict[str, str]) -> None:
    seen: list[httpx.Request] = []
    with make_client(answering(b"", seen)) as client:
        with pytest.raises(ValueError):
            track(client, **options)
    assert seen == []


def test_autre_with_a_url_is_sent() -> None:
    seen: list[httpx.Request] = []
    with make_client(answering(ok_body("setshippingpackageinfosresult", "OK"), seen)) as client:
        track(client, transporter_name="Autre", tracking_url="http://coursier.example/42")
    assert seen[0].url.params["tracking_url"] == "http://coursier.example/42"


LINES = [
    ShipmentLine("900", "1", "Colissimo", "6A1"),
    ShipmentLine("900", "2", "Autre"),
    ShipmentLine("900", "3", "Courrier Suivi"),
]


def test_a_shipping_file_is_posted_as_multipart_and_every_line_is_shipped_on_ok() -> None:
    seen: list[httpx.Request] = []
    body = (FIXTURES / "sample_importitemshippingstatus.xml").read_bytes()
    with make_client(answering(body, seen)) as client:
        result = client.import_item_shipping_status(CREDS, LINES)
    (request,) = seen
    assert (request.method, request.url.path) == ("POST", "/sales_ws")
    params = request.url.params
    assert (params["action"], params["version"]) == ("importitemshippingstatus", "2016-05-09")
    assert request.headers["content-type"].startswith("multipart/form-data")
    assert b'name="file"' in request.content and b"<itemid>3</itemid>" in request.content
    assert b"tok-abc" not in request.content
    assert [(line.item_id, line.outcome) for line in result.lines] == [
        (n, ShipmentOutcome.SHIPPED) for n in ("1", "2", "3")
    ]


def test_a_refused_shipping_file_gives_each_named_line_its_outcome() -> None:
    body = error_body(PROBLEM, f"Article 1 : a déjà été expédié|{NOT_CONFIRMED.replace('1', '3', 1)}")
    with make_client(answering(body)) as client:
        result = client.import_item_shipping_status(CREDS, LINES)
    assert [(line.item_id, line.outcome) for line in result.lines] == [
        ("1", ShipmentOutcome.ALREADY_SHIPPED),
        ("2", ShipmentOutcome.NOT_CONFIRMED),
        ("3", ShipmentOutcome.NOT_SHIPPABLE),
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (error_body(PROBLEM, "The parameter file is mandatory"), RakutenRejected),
        (QUOTA, RakutenRateLimited),
        (BAD_LOGIN, RakutenAuthError),
        (ok_body("importresult", "KO"), RakutenResponseInvalid),
    ],
)
def test_a_shipping_file_refused_as_a_whole_raises(body: bytes, expected: type[RakutenError]) -> None:
    with make_client(answering(body)) as client:
        with pytest.raises(expected) as caught:
            client.import_item_shipping_status(CREDS, LINES)
    assert type(caught.value) is expected


def test_refusal_sends_the_item_with_its_version_and_returns_the_result() -> None:
    seen: list[httpx.Request] = []
    with make_client(answering(ok_body("salerefusalresult", "Refused"), seen)) as client:
        result = client.refuse_sale(CREDS, "589871029")
    params = seen[0].url.params
    assert (params["action"], params["version"]) == ("refusesale", "2010-09-20")
    assert params["itemid"] == "589871029"
    assert (result.item_id, result.already_refused) == ("589871029", False)


def test_refusing_an_item_refused_already_is_success_with_the_flag() -> None:
    body = error_body(PROBLEM, "Current status : REFUSED - Required status : REQUESTED")
    with make_client(answering(body)) as client:
        assert client.refuse_sale(CREDS, "5").already_refused is True


@pytest.mark.parametrize(
    ("detail", "expected", "current"),
    [
        ("Current status : CAPTURED - Required status : REQUESTED", RakutenAlreadyAccepted, "CAPTURED"),
        ("Current status : EMPTIED - Required status : REQUESTED", RakutenNotCancellable, "EMPTIED"),
        ("Current status : CLOSED - Required status : REQUESTED", RakutenNotCancellable, "CLOSED"),
        ("Current status : SOMETHING - Required status : REQUESTED", RakutenItemStateError, "SOMETHING"),
        ("The parameter 'itemid' is invalid.", RakutenUnknownItem, None),
        ("The parameter 'version' is invalid.", RakutenRejected, None),
    ],
)
def test_refusal_refusals_tell_accepted_from_cancelled_or_lapsed(
    detail: str, expected: type[RakutenRejected], current: str | None
) -> None:
    with make_client(answering(error_body(PROBLEM, detail))) as client:
        with pytest.raises(expected) as caught:
            client.refuse_sale(CREDS, "5")
    assert type(caught.value) is expected
    assert getattr(caught.value, "current_status", None) == current


def test_cancellation_sends_the_comment_as_given_and_reads_the_sample() -> None:
    seen: list[httpx.Request] = []
    body = (FIXTURES / "sample_cancelitem.xml").read_bytes()
    comment = "Désolé : plus de stock & rupture"
    with make_client(answering(body, seen)) as client:
        result = client.cancel_item(CREDS, "1510361129", comment)
    params = seen[0].url.params
    assert (params["action"], params["version"]) == ("cancelitem", "2011-02-02")
    assert params["itemid"] == "1510361129"
    assert params["comment"] == comment
    assert result.item_id == "1510361129"


@pytest.mark.parametrize(
    ("message", "detail", "expected"),
    [
        ("This item cannot be cancelled", "", RakutenNotCancellable),
        (PROBLEM, "Article 7 : a déjà été expédié", RakutenNotCancellable),
        (PROBLEM, "The parameter 'itemid' is invalid.", RakutenUnknownItem),
        ("Your message cannot exceed 400 characters", "", RakutenRejected),
    ],
)
def test_cancellation_refusals_map_to_not_cancellable_unknown_or_rejected(
    message: str, detail: str, expected: type[RakutenRejected]
) -> None:
    with make_client(answering(error_body(message, detail))) as client:
        with pytest.raises(expected) as caught:
            client.cancel_item(CREDS, "7", "sorry")
    assert type(caught.value) is expected


@pytest.mark.parametrize(("item_id", "comment"), [("7", ""), ("7", "   "), ("7", "x" * 401), ("", "sorry")])
def test_a_cancellation_without_a_message_or_over_400_characters_is_refused_before_any_call(
    item_id: str, comment: str
) -> None:
    seen: list[httpx.Request] = []
    with make_client(answering(b"", seen)) as client:
        with pytest.raises(ValueError):
            client.cancel_item(CREDS, item_id, comment)
    assert seen == []


def test_a_message_of_exactly_400_characters_is_sent() -> None:
    with make_client(answering(ok_body("cancelitemresult", "CANCELLED"))) as client:
        assert client.cancel_item(CREDS, "7", "é" * 400).item_id == "7"


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.refuse_sale(CREDS, "5"),
        lambda c: c.cancel_item(CREDS, "5", "sorry"),
        lambda c: c.get_item_todo_list(CREDS),
        lambda c: c.import_item_shipping_status(CREDS, LINES),
    ],
)
@pytest.mark.parametrize(("status", "body", "expected"), [(200, QUOTA, RakutenRateLimited),
                                                          (502, b"<html/>", RakutenUnavailable)])
def test_quota_and_5xx_stay_unavailable_on_every_call(
    call: Callable[[RakutenClient], object], status: int, body: bytes, expected: type[RakutenError]
) -> None:
    with make_client(answering(body, status=status)) as client:
        with pytest.raises(expected) as caught:
            call(client)
    assert type(caught.value) is expected


def test_todo_list_is_one_read_only_get_and_returns_items_with_causes() -> None:
    seen: list[httpx.Request] = []
    body = (FIXTURES / "sample_getitemtodolist.xml").read_bytes()
    with make_client(answering(body, seen)) as client:
        [item] = client.get_item_todo_list(CREDS)
    (request,) = seen
    assert (request.method, request.url.params["action"], request.url.params["version"]) == (
        "GET", "getitemtodolist", "2011-09-01"
    )
    assert item.item_id == "159177464" and TodoCause.CLAIM in item.causes and len(item.causes) == 3


def test_a_token_echoed_in_a_refusal_never_reaches_the_mapped_error() -> None:
    body = error_body(PROBLEM, "Current status : EMPTIED - Required status : REQUESTED pwd=tok-abc")
    with make_client(answering(body)) as client:
        with pytest.raises(RakutenNotCancellable) as caught:
            client.refuse_sale(CREDS, "5")
    assert "tok-abc" not in str(caught.value) and "tok-abc" not in (caught.value.detail or "")
