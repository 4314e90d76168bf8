"""The sandbox's errorresponse answers: credentials, parameters, rights, status and logging."""

from __future__ import annotations

import httpx
import pytest

from connectors.rakuten.sandbox import Sandbox
from tests.fixtures.sandbox import SellerAccount, call, local, parse, stock_file, text, upload

ERROR_NS = "{http://pmcdn.priceminister.com/res/schema/error}"


@pytest.mark.parametrize("wrong", ["login", "token"])
def test_wrong_login_or_token_is_invalid_user_connection(
    http: httpx.Client, seller: SellerAccount, wrong: str
) -> None:
    params = seller.params("getnewsales")
    params["login" if wrong == "login" else "pwd"] = "nope"

    response = http.get("/sales_ws", params=params)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/xml;charset=ISO-8859-1"
    root = parse(response)
    assert root.tag == f"{ERROR_NS}errorresponse"
    assert text(root, "error/type") == "Sender"
    assert text(root, "error/code") == "InvalidUserConnection"
    assert text(root, "error/message") == "Unknown user or password."
    assert text(root, "error/details/detail") == "Incorrect login or password"


@pytest.mark.parametrize(
    ("drop", "detail"),
    [
        ("action", "The parameter action is mandatory"),
        ("login", "The parameter login is mandatory"),
        ("pwd", "The parameter pwd is mandatory"),
        ("version", "The parameter version is mandatory"),
    ],
)
def test_a_missing_parameter_is_a_parameter_error_naming_it(
    http: httpx.Client, seller: SellerAccount, drop: str, detail: str
) -> None:
    params = seller.params("getnewsales")
    del params[drop]

    root = parse(http.get("/sales_ws", params=params))

    assert text(root, "error/code") == "ParameterError"
    assert text(root, "error/message") == "Problem with parameters."
    assert text(root, "error/details/detail") == detail


def test_an_unknown_action_is_an_invalid_parameter(http: httpx.Client, seller: SellerAccount) -> None:
    params = {**seller.params("getnewsales"), "action": "getsomething"}

    root = parse(http.get("/sales_ws", params=params))

    assert text(root, "error/details/detail") == "The parameter 'action' is invalid."


def test_error_http_status_is_configurable(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    sandbox.configure(error_http_status=403)
    params = seller.params("getnewsales", pwd="wrong")

    response = http.get("/sales_ws", params=params)

    assert response.status_code == 403
    assert local(parse(response).tag) == "errorresponse"


def test_a_non_pro_seller_may_read_sales_but_not_use_the_stock_service(
    http: httpx.Client, make_seller: object
) -> None:
    individual: SellerAccount = make_seller(pro=False)  # type: ignore[operator]

    assert text(parse(call(http, individual, "getnewsales")), "response/sellerid")
    for response in (
        upload(http, individual, stock_file([("SKU-1", 1)])),
        call(http, individual, "genericimportreport", fileid="1"),
    ):
        root = parse(response)
        assert text(root, "error/code") == "InvalidUserRights"
        assert text(root, "error/message") == "You are not allowed to use this service."


def test_the_request_log_records_calls_without_the_token(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    call(http, seller, "getnewsales")
    http.get("/sales_ws", params=seller.params("getnewsales", pwd="bad"))

    logged = http.get("/_sandbox/requests", params={"login": seller.login}).json()

    assert [(e["action"], e["status"], e["error_code"]) for e in logged] == [
        ("getnewsales", 200, ""),
        ("getnewsales", 200, "InvalidUserConnection"),
    ]
    assert seller.token not in repr(sandbox.requests())
