"""RakutenClient reading sales answers as they arrive: isolation, bounded reading, early stop."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from connectors.rakuten import RakutenAuthError, RakutenResponseInvalid, SaleFailure
from tests.unit.test_rakuten_client import CREDS, error_body, make_client, sales_page

FIXTURES = Path(__file__).parent / "fixtures" / "rakuten"
FIVE_GOOD_TWO_UNREADABLE = (FIXTURES / "getnewsales_5_good_2_unreadable.xml").read_bytes()
HEAD = b"<getnewsalesresult><response><sellerid>77</sellerid><sales>"


def _sale(n: int) -> bytes:
    return (
        f"<sale><purchaseid>{n}</purchaseid><purchasedate>02/01/2024-12:00</purchasedate><items><item>"
        f"<itemid>{n}0</itemid><itemstatus>TO_CONFIRM</itemstatus><price><amount>5</amount></price>"
        f"</item></items></sale>"
    ).encode()


def _counted(pulled: list[int], count: int) -> Iterator[bytes]:
    """A getnewsales answer of `count` sales, one chunk per sale, noting each chunk pulled."""
    yield HEAD
    for n in range(1, count + 1):
        pulled.append(n)
        yield _sale(n)
    yield b"</sales></response></getnewsalesresult>"


def test_new_sales_give_the_five_readable_sales_and_log_the_two_others_without_their_values(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with make_client(lambda r: httpx.Response(200, content=FIVE_GOOD_TWO_UNREADABLE)) as client:
        with caplog.at_level(logging.WARNING, logger="connectors.rakuten"):
            answer = client.get_new_sales(CREDS)
            batch = answer.read()

    assert len(batch.sales) == 5 and answer.seller_id == "1000042"
    assert [(f.purchase_id, f.field) for f in batch.failures] == [
        ("300000103", "items/item[1]/price/amount"), ("300000106", "purchasedate")
    ]
    skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert len(skipped) == 2 and "'300000103'" in skipped[0] and "price/amount: not a number" in skipped[0]
    assert not any("neuf" in m or "hier" in m or "Dupont" in m or "tok-abc" in m for m in skipped)


def test_a_current_sales_page_with_an_unreadable_sale_loses_only_that_sale() -> None:
    broken = sales_page("P3", "2").replace(b"<amount>5</amount>", b"<amount>cinq</amount>")
    pages = {None: sales_page("P2", "1"), "P2": broken, "P3": sales_page("", "3")}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=pages[request.url.params.get("nexttoken")])

    with make_client(handler) as client:
        batch = client.get_current_sales(CREDS).read()

    assert [s.purchase_id for s in batch.sales] == ["1", "3"]
    assert batch.failures == [SaleFailure("2", "items/item[1]/price/amount", "not a number")]


def test_batches_come_while_the_answer_is_still_arriving() -> None:
    pulled: list[int] = []
    with make_client(lambda r: httpx.Response(200, content=_counted(pulled, 1000))) as client:
        batches = client.get_new_sales(CREDS).batches(100)
        first = next(batches)
        pulled_at_first = len(pulled)
        rest = list(batches)

    assert [s.purchase_id for s in first.sales] == [str(n) for n in range(1, 101)]
    assert pulled_at_first <= 102  # the other 900 sales had not been read yet
    assert [len(b.sales) for b in rest] == [100] * 9


def test_closing_an_answer_early_stops_reading_it() -> None:
    pulled: list[int] = []
    with make_client(lambda r: httpx.Response(200, content=_counted(pulled, 1000))) as client:
        with client.get_new_sales(CREDS) as answer:
            next(iter(answer))
        assert len(pulled) <= 2


def test_nothing_is_fetched_until_the_answer_is_read() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, content=sales_page())

    with make_client(handler) as client:
        answer = client.get_new_sales(CREDS)
        assert calls == []
        assert len(answer.read().sales) == 1 and len(calls) == 1


def test_check_credentials_stops_reading_once_the_seller_id_has_come() -> None:
    pulled: list[int] = []
    with make_client(lambda r: httpx.Response(200, content=_counted(pulled, 10_000))) as client:
        assert client.check_credentials(CREDS) == "77"
    assert len(pulled) <= 1


def test_an_error_response_sent_with_200_raises_when_the_answer_is_read() -> None:
    body = error_body("InvalidUserConnection", "Unknown user or password.")
    with make_client(lambda r: httpx.Response(200, content=body)) as client:
        with pytest.raises(RakutenAuthError):
            client.get_new_sales(CREDS).read()


def test_an_answer_cut_short_fails_as_a_whole_after_the_sales_it_did_deliver() -> None:
    body = HEAD + _sale(1) + _sale(2) + b"<sale><purchaseid>3"
    with make_client(lambda r: httpx.Response(200, content=body)) as client:
        answer = iter(client.get_new_sales(CREDS))
        delivered = [next(answer), next(answer)]
        with pytest.raises(RakutenResponseInvalid, match="malformed XML"):
            next(answer)
    assert [getattr(s, "purchase_id", None) for s in delivered] == ["1", "2"]
