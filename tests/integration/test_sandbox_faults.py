"""Injected faults: each misbehaves for the next N matching calls, then the sandbox recovers."""

from __future__ import annotations

import base64
import threading
import time
from pathlib import Path
from xml.etree.ElementTree import ParseError

import httpx
import pytest
from defusedxml import EntitiesForbidden

from connectors.rakuten.sandbox import Sandbox
from tests.fixtures.sandbox import SellerAccount, call, local, parse, text

SAMPLES = Path(__file__).parents[1] / "unit" / "fixtures" / "rakuten"


def test_http500_fault_hits_the_next_n_matching_calls_only(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    sandbox.inject_fault(seller.login, "http500", count=2, actions=["getnewsales"])

    assert local(parse(call(http, seller, "getcurrentsales")).tag) == "getcurrentsalesresult"
    statuses = [call(http, seller, "getnewsales").status_code for _ in range(3)]

    assert statuses == [500, 500, 200]
    logged = sandbox.requests(login=seller.login, action="getnewsales")
    assert [e["error_code"] for e in logged] == ["fault:http500", "fault:http500", ""]


def test_a_hanging_call_does_not_block_other_requests(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    sandbox.inject_fault(seller.login, "hang", hang_s=30, actions=["getnewsales"])
    outcome: list[BaseException] = []

    def hanging_call() -> None:
        try:
            with httpx.Client(base_url=sandbox.url, timeout=1.5) as client:
                call(client, seller, "getnewsales")
        except httpx.ReadTimeout as exc:
            outcome.append(exc)

    caller = threading.Thread(target=hanging_call)
    caller.start()
    started = time.monotonic()
    other = call(http, seller, "getcurrentsales")
    answered_in = time.monotonic() - started
    caller.join(timeout=10)

    assert other.status_code == 200 and answered_in < 1.0
    assert len(outcome) == 1


def test_malformed_fault_serves_truncated_xml(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    sandbox.inject_fault(seller.login, "malformed")

    response = call(http, seller, "getnewsales")

    assert response.status_code == 200
    with pytest.raises(ParseError):
        parse(response)


def test_quota_fault_serves_the_quota_errorresponse(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    sandbox.inject_fault(seller.login, "quota", actions=["getnewsales"])

    root = parse(call(http, seller, "getnewsales"))

    assert text(root, "error/code") == "InvalidUserRights"
    assert text(root, "error/message") == "Quota exceeded."


def test_billion_laughs_fault_is_refused_by_defusedxml(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    sandbox.inject_fault(seller.login, "billion_laughs")

    response = call(http, seller, "getnewsales")

    assert b"<!ENTITY lol9" in response.content
    with pytest.raises(EntitiesForbidden):
        parse(response)


def test_huge_fault_streams_a_body_of_the_requested_size(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    sandbox.inject_fault(seller.login, "huge", size_mb=3)

    with http.stream("GET", "/sales_ws", params=seller.params("getnewsales")) as response:
        declared = int(response.headers["content-length"])
        received = sum(len(chunk) for chunk in response.iter_bytes())

    assert declared == received == 3 * 1024 * 1024


def test_raw_fault_serves_a_public_sample_verbatim(http: httpx.Client, seller: SellerAccount) -> None:
    sample = (SAMPLES / "sample_getnewsales.xml").read_bytes()
    injected = http.post(
        f"/_sandbox/sellers/{seller.login}/faults",
        json={"kind": "raw", "body_base64": base64.b64encode(sample).decode(), "count": 1},
    )

    response = call(http, seller, "getnewsales")

    assert injected.status_code == 200
    assert response.content == sample
    assert response.headers["content-type"] == "text/xml;charset=ISO-8859-1"
    assert text(parse(call(http, seller, "getnewsales")), "response/sellerid") == seller.seller_id
