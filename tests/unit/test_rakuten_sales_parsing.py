"""Parsing getnewsales / getcurrentsales bodies: public samples and the §8a shapes."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.rakuten import (
    Address,
    Money,
    RakutenRateLimited,
    RakutenRejected,
    RakutenResponseInvalid,
    paris_to_utc,
    parse_sales,
)

FIXTURES = Path(__file__).parent / "fixtures" / "rakuten"
STATICPMRK = "http://pmcdn.staticpmrk.com/res/schema/getcurrentsales"


def sales_doc(
    sales: str, *, encoding: str = "ISO-8859-1", root_attrs: str = "", head: str = ""
) -> bytes:
    """Return a getcurrentsales body holding ``sales``, encoded as its prolog says."""
    text = (
        f'{head}<?xml version="1.0" encoding="{encoding}"?>\n'
        f"<getcurrentsalesresult{root_attrs}><request><version>2014-02-11</version></request>"
        f"<response><lastversion>2017-08-07</lastversion><nexttoken></nexttoken>"
        f"<sellerid>987654</sellerid><sales>{sales}</sales></response></getcurrentsalesresult>"
    )
    return text.encode(encoding)


def item(item_id: str = "1001", *, status: str = "ACCEPTED", extra: str = "") -> str:
    return (
        f"<item><sku><![CDATA[SKU-1]]></sku><advertid>555</advertid>"
        f"<advertpricelisted><amount>12.5</amount><currency>EUR</currency></advertpricelisted>"
        f"<itemid>{item_id}</itemid><headline><![CDATA[Livre]]></headline>"
        f"<itemstatus><![CDATA[{status}]]></itemstatus><ispreorder>N</ispreorder>"
        f"<isnego>N</isnego><price><amount>12.5</amount><currency>EUR</currency></price>"
        f"<paymentstatus><![CDATA[INCOMING]]></paymentstatus>{extra}</item>"
    )


def sale(delivery: str, items: str | None = None, *, shipping: str = "Suivi") -> str:
    return (
        "<sale><purchaseid>4242</purchaseid><purchasedate>15/01/2024-10:30</purchasedate>"
        f"<deliveryinformation><shippingtype>{shipping}</shippingtype>"
        "<purchasebuyerlogin><![CDATA[buyer1]]></purchasebuyerlogin>"
        "<purchasebuyeremail>b@example.org</purchasebuyeremail>"
        f"{delivery}</deliveryinformation><items>{items or item()}</items></sale>"
    )


def test_shiba_getnewsales_sample_parses_relay_sale_with_billing_address() -> None:
    page = parse_sales((FIXTURES / "sample_getnewsales.xml").read_bytes())
    seller_id, sales, token = page.seller_id, page.sales, page.next_token
    assert (seller_id, token, len(sales)) == ("123456", None, 1)
    (only,) = sales
    assert only.purchase_id == "123456"
    assert only.purchased_at == datetime(2014, 3, 1, 8, 12, tzinfo=UTC)
    assert only.shipping_type == "Relai Kiala"
    assert only.delivery_address is None
    assert only.pickup_point is not None and only.pickup_point.id == "FR-084735"
    assert only.pickup_point.line1 == "address" and only.pickup_point.city == "PARIS"
    assert only.billing_address is not None
    assert only.billing_address.country_code == "FR"
    assert only.billing_address.line2 is None
    assert only.billing_address.phone == "0606060606"
    (line,) = only.items
    assert (line.item_id, line.sku, line.advert_id) == ("260306083", None, "691501318")
    assert (line.status, line.payment_status) == ("TO_CONFIRM", "INCOMING")
    assert line.price == Money(Decimal("23.9"), "EUR")
    assert not line.is_nego and not line.is_preorder


def test_shiba_getcurrentsales_sample_parses_with_empty_nexttoken() -> None:
    page = parse_sales((FIXTURES / "sample_getcurrentsales.xml").read_bytes())
    seller_id, sales, token = page.seller_id, page.sales, page.next_token
    assert (seller_id, token) == ("123456", None)
    assert sales[0].items[0].status == "ACCEPTED"
    assert sales[0].items[0].price.amount == Decimal("1.5")
    assert sales[0].pickup_point is not None and sales[0].pickup_point.last_name == "lastname"


def test_shiba_quota_sample_is_rate_limiting_not_a_rights_problem() -> None:
    with pytest.raises(RakutenRateLimited):
        parse_sales((FIXTURES / "quota_exceeded_message.xml").read_bytes())


def test_tracked_parcel_has_only_a_delivery_address_with_accents_namespace_and_cdata_lines() -> None:
    delivery = """<deliveryaddress>
        <civility>Mme</civility>
        <lastname>
            <![CDATA[ Lefèvre ]]>
        </lastname>
        <firstname><![CDATA[Hélène]]></firstname>
        <address1><![CDATA[12 rue de l'Église]]></address1>
        <address2/>
        <zipcode>75011</zipcode><city><![CDATA[Paris]]></city>
        <country><![CDATA[France]]></country><countryalpha2>FX</countryalpha2>
        <phonenumber1></phonenumber1><phonenumber2>0102030405</phonenumber2>
    </deliveryaddress>"""
    body = sales_doc(sale(delivery), root_attrs=f' xmlns="{STATICPMRK}"', head="\n\n  ")
    (parsed,) = parse_sales(body).sales
    assert parsed.delivery_address == Address(
        civility="Mme",
        first_name="Hélène",
        last_name="Lefèvre",
        line1="12 rue de l'Église",
        line2=None,
        zip_code="75011",
        city="Paris",
        country="France",
        country_code="FR",
        phone="0102030405",
    )
    assert parsed.billing_address is None and parsed.pickup_point is None
    assert parsed.buyer_login == "buyer1" and parsed.buyer_email == "b@example.org"


def test_so_colissimo_windows_1252_sale_has_only_a_billing_address() -> None:
    billing = (
        "<billingaddress><lastname><![CDATA[Lefèvre]]></lastname>"
        "<firstname>Hélène</firstname><address1>5 place de l’Œuvre</address1>"
        "<zipcode>69001</zipcode><city>Lyon</city><countryalpha2>fr</countryalpha2>"
        "</billingaddress>"
    )
    body = sales_doc(
        sale(billing, shipping="So Colissimo"),
        encoding="windows-1252",
        root_attrs=' schemaLocation="http://example.invalid/x.xsd"',
    )
    assert b"\x92" in body and b"\x8c" in body  # real cp1252 bytes for ’ and Œ
    (parsed,) = parse_sales(body).sales
    assert parsed.delivery_address is None and parsed.pickup_point is None
    assert parsed.billing_address is not None
    assert parsed.billing_address.line1 == "5 place de l’Œuvre"
    assert parsed.billing_address.country_code == "FR"
    assert parsed.shipping_type == "So Colissimo"


def test_relay_sale_has_pickup_point_with_buyer_names_and_billing_address() -> None:
    relay = (
        "<collectionpointaddress><civility>M.</civility><lastname>Dupré</lastname>"
        "<firstname>Jérôme</firstname><id><![CDATA[FR-012345]]></id>"
        "<name><![CDATA[Tabac de la Gare]]></name><address>1 av. Foch</address>"
        "<zipcode>33000</zipcode><city>Bordeaux</city><country>France</country>"
        "</collectionpointaddress>"
        "<billingaddress><lastname>Dupré</lastname><city>Mérignac</city></billingaddress>"
    )
    body = sales_doc(sale(relay, shipping="Point relais Mondial Relay"))
    (parsed,) = parse_sales(body).sales
    point = parsed.pickup_point
    assert point is not None
    assert (point.id, point.name, point.line1) == ("FR-012345", "Tabac de la Gare", "1 av. Foch")
    assert (point.first_name, point.last_name) == ("Jérôme", "Dupré")
    assert parsed.billing_address is not None and parsed.billing_address.city == "Mérignac"
    assert parsed.delivery_address is None


def test_foreign_address_keeps_its_state_and_country_code() -> None:
    delivery = (
        "<deliveryaddress><lastname>Smith</lastname><city>Austin</city><state>TX</state>"
        "<country>Etats-Unis</country><countryalpha2>US</countryalpha2></deliveryaddress>"
    )
    (parsed,) = parse_sales(sales_doc(sale(delivery))).sales
    assert parsed.delivery_address is not None
    assert (parsed.delivery_address.state, parsed.delivery_address.country_code) == ("TX", "US")


def test_cancelled_and_claimed_items_are_kept_with_upper_cased_statuses() -> None:
    items = item("1", status="ACCEPTED") + item("2", status="pending_claim") + item(
        "3", status="Cancelled"
    )
    (parsed,) = parse_sales(sales_doc(sale("", items))).sales
    assert [i.status for i in parsed.items] == ["ACCEPTED", "PENDING_CLAIM", "CANCELLED"]


def test_multi_unit_purchase_is_several_items_sharing_the_sku() -> None:
    (parsed,) = parse_sales(sales_doc(sale("", item("10") + item("99")))).sales
    assert [(i.item_id, i.sku) for i in parsed.items] == [("10", "SKU-1"), ("99", "SKU-1")]


@pytest.mark.parametrize("raw", ["10.5", "32.0", "42.95", "1.6", "7", " 3,20 "])
def test_amounts_with_varying_decimals_are_exact_decimals(raw: str) -> None:
    priced = item(extra="").replace("<price><amount>12.5</amount>", f"<price><amount>{raw}</amount>")
    (parsed,) = parse_sales(sales_doc(sale("", priced))).sales
    assert parsed.items[0].price.amount == Decimal(raw.strip().replace(",", "."))
    assert parsed.items[0].listed_price == Money(Decimal("12.5"), "EUR")


def test_sale_price_falls_back_to_listed_price_and_currency_defaults_to_eur() -> None:
    bare = (
        "<item><itemid>7</itemid><itemstatus>REQUESTED</itemstatus><isnego>Y</isnego>"
        "<advertpricelisted><amount>9.99</amount></advertpricelisted><price/></item>"
    )
    (parsed,) = parse_sales(sales_doc(sale("", bare))).sales
    line = parsed.items[0]
    assert line.price == Money(Decimal("9.99"), "EUR") and line.is_nego
    assert line.sku is None and line.title is None and line.payment_status is None


@pytest.mark.parametrize("empty", ["<sku/>", "<sku></sku>", "<sku><![CDATA[]]></sku>", "<sku>\n  </sku>"])
def test_every_way_of_writing_an_empty_value_gives_none(empty: str) -> None:
    line = item().replace("<sku><![CDATA[SKU-1]]></sku>", empty)
    (parsed,) = parse_sales(sales_doc(sale("", line))).sales
    assert parsed.items[0].sku is None


def test_single_and_several_sales_are_both_read_and_no_sales_is_an_empty_list() -> None:
    assert len(parse_sales(sales_doc(sale("") + sale(""))).sales) == 2
    assert parse_sales(sales_doc("")).sales == []


def test_illegal_control_characters_are_dropped_before_parsing() -> None:
    body = sales_doc(sale("", item().replace("Livre", "Li\x01vre\x1f")))
    assert parse_sales(body).sales[0].items[0].title == "Livre"


def test_result_without_response_element_is_invalid() -> None:
    with pytest.raises(RakutenResponseInvalid):
        parse_sales(b"<getnewsalesresult><request/></getnewsalesresult>")


def test_error_response_raises_the_mapped_rejection() -> None:
    body = (
        b"<errorresponse><error><type>Sender</type><code>ParameterError</code>"
        b"<message>Problem with parameters.</message><details><detail>"
        b"\n   <![CDATA[The parameter login is mandatory]]>\n</detail></details></error>"
        b"</errorresponse>"
    )
    with pytest.raises(RakutenRejected) as caught:
        parse_sales(body)
    assert caught.value.code == "ParameterError"
    assert caught.value.detail == "The parameter login is mandatory"


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        ("15/01/2024-10:30", datetime(2024, 1, 15, 9, 30, tzinfo=UTC)),  # winter, UTC+1
        ("15/07/2024-10:30", datetime(2024, 7, 15, 8, 30, tzinfo=UTC)),  # summer, UTC+2
        ("27/10/2024-02:30", datetime(2024, 10, 27, 0, 30, tzinfo=UTC)),  # first 02:30 (CEST)
        ("31/03/2024-02:30", datetime(2024, 3, 31, 1, 30, tzinfo=UTC)),  # skipped: 03:30 CEST
        ("01/03/2014-09:12:45", datetime(2014, 3, 1, 8, 12, 45, tzinfo=UTC)),
    ],
)
def test_paris_local_purchase_dates_become_utc(local: str, expected: datetime) -> None:
    converted = paris_to_utc(local)
    assert converted == expected
    assert converted.utcoffset() is not None and converted.utcoffset().total_seconds() == 0
