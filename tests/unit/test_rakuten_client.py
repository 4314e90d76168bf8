"""RakutenClient over httpx.MockTransport: requests sent, paging, error mapping, limits."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path

import httpx
import pytest

from connectors.rakuten import (
    Credentials,
    ImportStatus,
    RakutenAuthError,
    RakutenClient,
    RakutenError,
    RakutenInsufficientRights,
    RakutenRateLimited,
    RakutenRejected,
    RakutenResponseInvalid,
    RakutenUnavailable,
)

FIXTURES = Path(__file__).parent / "fixtures" / "rakuten"
CREDS = Credentials(login="shop-login", token="tok-abc")
Handler = Callable[[httpx.Request], httpx.Response]


def make_client(handler: Handler, **options: int) -> RakutenClient:
    transport = httpx.MockTransport(handler)
    return RakutenClient(base_url="https://ws.example.test", transport=transport, **options)


def error_body(code: str, message: str, detail: str = "", kind: str = "Sender") -> bytes:
    return (
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n'
        f'<errorresponse xmlns="http://pmcdn.priceminister.com/res/schema/error"><error>'
        f"<type>{kind}</type><code>{code}</code><message>{message}</message>"
        f"<details><detail><![CDATA[{detail}]]></detail></details></error></errorresponse>"
    ).encode("iso-8859-1")


def sales_page(token: str = "", purchase_id: str = "1") -> bytes:
    return (
        f"<getcurrentsalesresult><response><nexttoken>{token}</nexttoken><sellerid>77</sellerid>"
        f"<sales><sale><purchaseid>{purchase_id}</purchaseid>"
        f"<purchasedate>02/01/2024-12:00</purchasedate><items><item><itemid>{purchase_id}0</itemid>"
        f"<itemstatus>ACCEPTED</itemstatus><price><amount>5</amount></price></item></items>"
        f"</sale></sales></response></getcurrentsalesresult>"
    ).encode()


def test_check_credentials_sends_query_auth_and_returns_the_seller_id() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=(FIXTURES / "sample_getnewsales.xml").read_bytes())

    with make_client(handler) as client:
        assert client.check_credentials(CREDS) == "123456"
    (request,) = seen
    assert (request.method, request.url.path) == ("GET", "/sales_ws")
    assert dict(request.url.params) == {
        "action": "getnewsales", "login": "shop-login", "pwd": "tok-abc", "version": "2017-08-07"
    }
    assert request.headers["user-agent"] == "rakuten-connector"


def test_check_credentials_without_seller_id_is_an_invalid_response() -> None:
    body = b"<getnewsalesresult><response><sellerid/></response></getnewsalesresult>"
    with make_client(lambda r: httpx.Response(200, content=body)) as client:
        with pytest.raises(RakutenResponseInvalid):
            client.check_credentials(CREDS)


def test_get_new_sales_returns_parsed_sales() -> None:
    body = (FIXTURES / "sample_getnewsales.xml").read_bytes()
    with make_client(lambda r: httpx.Response(200, content=body)) as client:
        (sale,) = client.get_new_sales(CREDS).read().sales
    assert sale.items[0].status == "TO_CONFIRM"


def test_get_current_sales_follows_nexttoken_and_filters_by_purchase_date() -> None:
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        token = request.url.params.get("nexttoken")
        pages = {None: sales_page("P2", "1"), "P2": sales_page("P3", "2"), "P3": sales_page("", "3")}
        return httpx.Response(200, content=pages[token])

    with make_client(handler) as client:
        sales = client.get_current_sales(CREDS, since=date(2024, 1, 1)).read().sales
    assert [s.purchase_id for s in sales] == ["1", "2", "3"]
    assert [u.params.get("nexttoken") for u in seen] == [None, "P2", "P3"]
    assert {u.params["purchasedate"] for u in seen} == {"2024-01-01"}
    assert {u.params["version"] for u in seen} == {"2017-08-07"}


def test_a_repeating_nexttoken_stops_paging_as_invalid() -> None:
    with make_client(lambda r: httpx.Response(200, content=sales_page("SAME"))) as client:
        with pytest.raises(RakutenResponseInvalid, match="repeated"):
            client.get_current_sales(CREDS).read()


def test_paging_is_capped() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=sales_page(f"T{request.url.params.get('nexttoken')}"))

    with make_client(handler, max_pages=3) as client:
        with pytest.raises(RakutenResponseInvalid, match="over 3 pages"):
            client.get_current_sales(CREDS).read()


def test_accept_sale_item_sends_itemid_and_shipping_country_and_returns_status() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=(FIXTURES / "sample_accept_sale.xml").read_bytes())

    with make_client(handler) as client:
        assert client.accept_sale_item(CREDS, "589871029") == "Accepted"
    params = seen[0].url.params
    assert (params["action"], params["version"]) == ("acceptsale", "2021-04-08")
    assert (params["itemid"], params["shippingfromcountry"]) == ("589871029", "249")


def test_upload_stock_file_posts_multipart_file_with_control_params_in_query() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        body = (FIXTURES / "sample_genericimportfile.xml").read_bytes()
        return httpx.Response(200, content=body)

    with make_client(handler) as client:
        assert client.upload_stock_file(CREDS, b"<items>payload</items>") == "35826776"
    (request,) = seen
    assert (request.method, request.url.path) == ("POST", "/stock_ws")
    params = request.url.params
    assert (params["action"], params["version"], params["pwd"]) == (
        "genericimportfile", "2015-02-02", "tok-abc"
    )
    assert request.headers["content-type"].startswith("multipart/form-data")
    assert b'name="file"' in request.content and b"<items>payload</items>" in request.content
    assert b"tok-abc" not in request.content


def test_upload_answer_with_status_other_than_ok_is_invalid() -> None:
    body = b"<importresult><response><importid>1</importid><status>KO</status></response></importresult>"
    with make_client(lambda r: httpx.Response(200, content=body)) as client:
        with pytest.raises(RakutenResponseInvalid):
            client.upload_stock_file(CREDS, b"x")


def test_get_import_report_merges_pages_and_sends_the_file_id() -> None:
    pages = {
        None: b"<r><response><file><status>Trait\xc3\xa9</status><totallines>2</totallines></file>"
        b"<product><sku>A</sku><errors><error><error_code>1</error_code></error></errors>"
        b"</product><nexttoken>N</nexttoken></response></r>",
        "N": b"<r><response><product><sku>B</sku><errors><error><code>2</code></error>"
        b"</errors></product></response></r>",
    }
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, content=pages[request.url.params.get("nexttoken")])

    with make_client(handler) as client:
        report = client.get_import_report(CREDS, "35826776")
    assert report.import_id == "35826776" and report.status is ImportStatus.DONE
    assert [(e.sku, e.error_code) for e in report.errors] == [("A", "1"), ("B", "2")]
    assert {(u.params["fileid"], u.params["version"]) for u in seen} == {("35826776", "2017-02-10")}


QUOTA = error_body("InvalidUserRights", "Quota exceeded.", "maximum number of requests per hour")


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, error_body("ParameterError", "Problem with parameters.", "bad"), RakutenRejected),
        (500, error_body("ParameterError", "Problem with parameters.", "bad"), RakutenRejected),
        (200, error_body("InvalidUserConnection", "Unknown user or password."), RakutenAuthError),
        (401, error_body("InvalidUserConnection", "Unknown user or password."), RakutenAuthError),
        (200, QUOTA, RakutenRateLimited),
        (200, error_body("InvalidUserRights", "Forbidden."), RakutenInsufficientRights),
        (500, error_body("ServerError", "Server not able to fullfill request.", "", "ServerError"),
         RakutenUnavailable),
        (503, b"", RakutenUnavailable),
        (502, b"<html><body>Bad gateway</body></html>", RakutenUnavailable),
        (429, b"", RakutenRateLimited),
        (404, b"<html>not found</html>", RakutenResponseInvalid),
        (200, b"\x00garbage<<", RakutenResponseInvalid),
        (200, b"", RakutenResponseInvalid),
    ],
)
def test_responses_map_to_the_error_tree(
    status: int, body: bytes, expected: type[RakutenError]
) -> None:
    with make_client(lambda r: httpx.Response(status, content=body)) as client:
        with pytest.raises(expected) as caught:
            client.get_new_sales(CREDS).read()
    assert type(caught.value) is expected


def test_rejection_carries_rakuten_code_message_and_detail() -> None:
    body = error_body("ParameterError", "Problem with parameters.", "The parameter 'itemid' is invalid.")
    with make_client(lambda r: httpx.Response(200, content=body)) as client:
        with pytest.raises(RakutenRejected) as caught:
            client.accept_sale_item(CREDS, "123")
    error = caught.value
    assert (error.code, error.message) == ("ParameterError", "Problem with parameters.")
    assert error.detail == "The parameter 'itemid' is invalid." and error.action == "acceptsale"


def test_rate_limiting_is_retryable_and_not_a_rejection() -> None:
    with make_client(lambda r: httpx.Response(200, content=QUOTA)) as client:
        with pytest.raises(RakutenUnavailable) as caught:
            client.get_new_sales(CREDS).read()
    assert not isinstance(caught.value, RakutenRejected)


@pytest.mark.parametrize(
    "failure", [httpx.ReadTimeout, httpx.ConnectTimeout, httpx.ConnectError, httpx.RemoteProtocolError]
)
def test_network_failures_are_unavailable_with_the_cause_chained(failure: type[httpx.HTTPError]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise failure("boom", request=request)

    with make_client(handler) as client:
        with pytest.raises(RakutenUnavailable) as caught:
            client.get_new_sales(CREDS).read()
    assert isinstance(caught.value.__cause__, failure)


def test_oversized_body_is_refused_without_reading_it_all() -> None:
    pulled: list[int] = []

    def endless() -> Iterator[bytes]:  # well-formed so far: only the size can stop it
        yield b"<getnewsalesresult><response><sales><sale><purchaseid>"
        for _ in range(50 * 1024):  # 50 MB in 1 KB chunks
            pulled.append(1)
            yield b"9" * 1024

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=endless())

    with make_client(handler, max_response_bytes=64 * 1024) as client:
        with pytest.raises(RakutenResponseInvalid, match="over"):
            client.get_new_sales(CREDS).read()
    assert len(pulled) <= 66


def test_declared_oversized_length_is_refused_before_reading_any_chunk() -> None:
    pulled: list[int] = []

    def chunks() -> Iterator[bytes]:
        pulled.append(1)
        yield b"<a/>"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=chunks(), headers={"content-length": "1000000000"})

    with make_client(handler, max_response_bytes=100) as client:
        with pytest.raises(RakutenResponseInvalid, match="over 100 bytes"):
            client.check_credentials(CREDS)
    assert pulled == []


def test_one_client_serves_several_sellers_with_per_call_credentials() -> None:
    logins: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        logins.append(request.url.params["login"])
        return httpx.Response(200, content=sales_page())

    with make_client(handler) as client:
        client.get_new_sales(Credentials("a", "ta")).read()
        client.get_new_sales(Credentials("b", "tb")).read()
    assert logins == ["a", "b"]


def test_purchase_date_filter_sends_only_the_day_even_for_a_datetime() -> None:
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, content=sales_page())

    with make_client(handler) as client:
        client.get_current_sales(CREDS, since=datetime(2024, 3, 9, 23, 59)).read()
    assert seen[0].params["purchasedate"] == "2024-03-09"


def test_body_that_fails_content_decoding_is_invalid_not_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"not gzip", headers={"content-encoding": "gzip"})

    with make_client(handler) as client:
        with pytest.raises(RakutenResponseInvalid, match="DecodingError"):
            client.get_new_sales(CREDS).read()


def test_shiba_single_value_samples_give_seller_id_acceptance_and_import_id() -> None:
    samples = {"getnewsales": "sample_getnewsales.xml", "acceptsale": "sample_accept_sale.xml",
               "genericimportfile": "sample_genericimportfile.xml"}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=(FIXTURES / samples[request.url.params["action"]]).read_bytes())

    with make_client(handler) as client:
        assert client.check_credentials(CREDS) == "123456"
        assert client.accept_sale_item(CREDS, "item-1") == "Accepted"
        assert client.upload_stock_file(CREDS, b"<stock/>") == "35826776"
