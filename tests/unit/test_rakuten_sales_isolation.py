"""Sales answers read sale by sale: an unreadable sale is reported and skipped, the others kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.rakuten import RakutenResponseInvalid, Sale, SaleFailure, parse_sales
from connectors.rakuten.sales_stream import SalesReader
from connectors.rakuten.xml import XmlStream
from tests.unit.test_rakuten_sales_parsing import item, sale, sales_doc

FIXTURES = Path(__file__).parent / "fixtures" / "rakuten"
FIVE_GOOD_TWO_UNREADABLE = (FIXTURES / "getnewsales_5_good_2_unreadable.xml").read_bytes()
GOOD = sale("").replace("4242", "1111")


def test_an_answer_of_five_good_sales_and_two_unreadable_ones_gives_the_five_and_names_the_two() -> None:
    page = parse_sales(FIVE_GOOD_TWO_UNREADABLE)

    assert [s.purchase_id for s in page.sales] == ["300000101", "300000102", "300000104", "300000105",
                                                   "300000107"]
    assert page.failures == [
        SaleFailure("300000103", "items/item[1]/price/amount", "not a number"),
        SaleFailure("300000106", "purchasedate", "not a date"),
    ]
    assert page.seller_id == "1000042"
    assert page.failures[0].detail == "items/item[1]/price/amount: not a number"


@pytest.mark.parametrize(
    ("broken", "purchase_id", "field", "reason"),
    [
        (sale("").replace("<purchaseid>4242</purchaseid>", ""), None, "purchaseid", "missing"),
        (sale("").replace("4242", "9" * 101), None, "purchaseid", "longer than 100 characters"),
        (sale("").replace("<purchasedate>15/01/2024-10:30</purchasedate>", ""), "4242", "purchasedate",
         "missing"),
        (sale("").replace("15/01/2024-10:30", "2024-01-15"), "4242", "purchasedate", "not a date"),
        (sale("").replace("15/01/2024-10:30", "31/02/2024-10:30"), "4242", "purchasedate", "not a date"),
        (sale("", item().replace("<itemid>1001</itemid>", "")), "4242", "items/item[1]/itemid", "missing"),
        (sale("", item("1") + item().replace("<itemstatus><![CDATA[ACCEPTED]]></itemstatus>", "")), "4242",
         "items/item[2]/itemstatus", "missing"),
        (sale("", item().replace("<price><amount>12.5", "<price><amount>neuf euros")), "4242",
         "items/item[1]/price/amount", "not a number"),
        (sale("", item().replace("<price><amount>12.5", "<price><amount>NaN")), "4242",
         "items/item[1]/price/amount", "not a number"),
        (sale("", item().replace("<amount>12.5</amount><currency>EUR</currency></advertpricelisted>",
                                 "<amount>1e999999999999</amount></advertpricelisted>")), "4242",
         "items/item[1]/advertpricelisted/amount", "not a number"),
        (sale("", "<item><itemid>5</itemid><itemstatus>REQUESTED</itemstatus></item>"), "4242",
         "items/item[1]/price/amount", "missing"),
    ],
)
def test_an_unreadable_sale_is_reported_with_its_field_and_the_sales_around_it_are_kept(
    broken: str, purchase_id: str | None, field: str, reason: str
) -> None:
    page = parse_sales(sales_doc(GOOD + broken + GOOD.replace("1111", "2222")))

    assert [s.purchase_id for s in page.sales] == ["1111", "2222"]
    assert page.failures == [SaleFailure(purchase_id, field, reason)]


def test_a_failure_names_the_field_but_never_quotes_the_value_or_the_buyer() -> None:
    broken = sale("<deliveryaddress><lastname>Lefèvre</lastname></deliveryaddress>").replace(
        "15/01/2024-10:30", "le 15 chez Lefèvre"
    )
    (failure,) = parse_sales(sales_doc(broken)).failures

    assert "Lefèvre" not in failure.detail and "15" not in failure.detail and "buyer1" not in failure.detail


@pytest.mark.parametrize("size", [1, 7, 100, 4096])
def test_any_split_of_the_bytes_gives_the_same_sales_as_one_piece(size: int) -> None:
    whole = parse_sales(FIVE_GOOD_TWO_UNREADABLE)
    reader = SalesReader()
    records = []
    for start in range(0, len(FIVE_GOOD_TWO_UNREADABLE), size):
        records += reader.feed(FIVE_GOOD_TWO_UNREADABLE[start : start + size])
    records += reader.close()

    assert [r.purchase_id for r in records] == [f"30000010{n}" for n in range(1, 8)]
    assert [r for r in records if isinstance(r, Sale)] == whole.sales
    assert [r for r in records if isinstance(r, SaleFailure)] == whole.failures
    assert reader.seller_id == "1000042"


def test_each_sale_is_handed_out_once_the_next_one_starts_and_the_tree_keeps_at_most_one() -> None:
    body = sales_doc("".join(sale("").replace("4242", str(n)) for n in range(1, 51)))
    stream = XmlStream(records_at=("response", "sales"))
    handed: list[str] = []
    largest = 0
    for start in range(0, len(body), 256):
        handed += [r.findtext("purchaseid") or "" for r in stream.feed(body[start : start + 256])]
        assert stream.container is None or len(stream.container) <= 1
        largest = max(largest, len(stream.container) if stream.container is not None else 0)
    before_close = len(handed)
    handed += [r.findtext("purchaseid") or "" for r in stream.close()]

    assert handed == [str(n) for n in range(1, 51)]
    assert before_close == 49 and largest == 1


def test_sellerid_is_known_as_soon_as_the_sales_begin() -> None:
    reader = SalesReader()
    body = sales_doc(GOOD)
    reader.feed(body[: body.index(b"<purchaseid>")])

    assert reader.seller_id == "987654"


def test_prefixed_tags_are_read_by_local_name_when_streamed() -> None:
    body = (
        b'<?xml version="1.0"?><p:getnewsalesresult xmlns:p="urn:pm"><p:response>'
        b"<p:sellerid>5</p:sellerid><p:sales><p:sale><p:purchaseid>7</p:purchaseid>"
        b"<p:purchasedate>01/02/2024-10:00</p:purchasedate><p:items><p:item><p:itemid>70</p:itemid>"
        b"<p:itemstatus>TO_CONFIRM</p:itemstatus><p:price><p:amount>3</p:amount></p:price></p:item>"
        b"</p:items></p:sale><p:sale/></p:sales><p:nexttoken>N</p:nexttoken></p:response>"
        b"</p:getnewsalesresult>"
    )
    reader = SalesReader()
    records = [r for start in range(0, len(body), 40) for r in reader.feed(body[start : start + 40])]
    records += reader.close()

    assert [getattr(r, "purchase_id", None) for r in records] == ["7", None]
    assert records[1] == SaleFailure(None, "purchaseid", "missing")
    assert (reader.seller_id, reader.next_token) == ("5", "N")


@pytest.mark.parametrize(
    "body",
    [
        sales_doc(GOOD + GOOD)[:-60],  # cut short: the end never comes
        sales_doc(GOOD + "<sale><purchaseid>1</purchase></sale>" + GOOD),  # mismatched tag
        sales_doc(GOOD).replace(b"<sales>", b"<sales>&undefined;"),
    ],
    ids=["truncated", "mismatched", "undefined-entity"],
)
def test_xml_that_is_not_well_formed_is_a_failure_of_the_whole_answer(body: bytes) -> None:
    with pytest.raises(RakutenResponseInvalid, match="malformed XML"):
        parse_sales(body)
