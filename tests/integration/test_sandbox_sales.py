"""The sandbox's sales web service over real HTTP: shapes, encoding, acceptance, paging."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from connectors.rakuten.sandbox import Sandbox
from tests.fixtures.sandbox import SellerAccount, call, find_all, local, parse, text

NEW_SALES_NS = "{http://pmcdn.priceminister.com/res/schema/getnewsales}"


def _sale(sku: str = "SKU-1", **extra: object) -> dict[str, object]:
    return {"items": [{"sku": sku}], **extra}


def test_getnewsales_answers_iso_8859_1_xml_with_namespace_and_seller_id(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    sandbox.add_sales(seller.login, [_sale()])

    response = call(http, seller, "getnewsales")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/xml;charset=ISO-8859-1"
    assert response.content.startswith(b'<?xml version="1.0" encoding="ISO-8859-1"?>')
    root = parse(response)
    assert root.tag == f"{NEW_SALES_NS}getnewsalesresult"
    assert text(root, "request/user") == seller.login
    assert text(root, "response/sellerid") == seller.seller_id
    assert text(root, "response/sales/sale/items/item/sku") == "SKU-1"
    assert text(root, "response/sales/sale/items/item/itemstatus") == "TO_CONFIRM"


def test_accented_buyer_names_are_latin1_bytes_and_other_characters_survive_parsing(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    buyer = {"last_name": "Lefèvre", "first_name": "Zoë ’Jo’", "city": "Besançon"}
    sandbox.add_sales(seller.login, [_sale(buyer=buyer, layout="delivery")])

    response = call(http, seller, "getnewsales")

    assert "Lefèvre".encode("iso-8859-1") in response.content
    assert "Lefèvre".encode() not in response.content
    address = find_all(parse(response), "response/sales/sale/deliveryinformation/deliveryaddress")[0]
    assert text(address, "lastname") == "Lefèvre"
    assert text(address, "firstname") == "Zoë ’Jo’"
    assert text(address, "city") == "Besançon"
    assert b"<![CDATA[Lef\xe8vre]]>" in response.content


def test_address_elements_follow_the_delivery_layout(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    sandbox.add_sales(
        seller.login,
        [_sale(layout="delivery"), _sale(layout="billing"), _sale(layout="relay")],
    )

    sales = find_all(parse(call(http, seller, "getnewsales")), "response/sales/sale")

    kinds = [
        [local(e.tag) for e in find_all(sale, "deliveryinformation")[0] if "address" in e.tag]
        for sale in sales
    ]
    assert kinds == [
        ["deliveryaddress"],
        ["billingaddress"],
        ["collectionpointaddress", "billingaddress"],
    ]
    relay = find_all(sales[2], "deliveryinformation/collectionpointaddress")[0]
    assert text(relay, "id") == "FR-084735"
    assert text(relay, "lastname") == "Dupont"
    assert text(sales[1], "deliveryinformation/shippingtype") == "So Colissimo"


def test_acceptsale_moves_a_fully_accepted_sale_from_new_to_current(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    [created] = sandbox.add_sales(seller.login, [{"items": [{"sku": "SKU-1"}, {"sku": "SKU-2"}]}])
    first, second = created["item_ids"]

    accepted = parse(call(http, seller, "acceptsale", itemid=first, shippingfromcountry="249"))

    assert local(accepted.tag) == "saleacceptanceresult"
    assert text(accepted, "response/status") == "Accepted"
    assert text(accepted, "request/shippingfromcountry") == "249"
    assert len(find_all(parse(call(http, seller, "getnewsales")), "response/sales/sale")) == 1
    call(http, seller, "acceptsale", itemid=second)
    assert find_all(parse(call(http, seller, "getnewsales")), "response/sales/sale") == []
    current = parse(call(http, seller, "getcurrentsales"))
    statuses = [i.text for i in find_all(current, "response/sales/sale/items/item/itemstatus")]
    assert statuses == ["ACCEPTED", "ACCEPTED"]
    assert [i["status"] for i in sandbox.sales(seller.login)[0]["items"]] == ["ACCEPTED"] * 2


def test_accepting_an_item_twice_is_a_parameter_error_unless_configured(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    [created] = sandbox.add_sales(seller.login, [_sale()])
    item_id = created["item_ids"][0]
    call(http, seller, "acceptsale", itemid=item_id)

    again = parse(call(http, seller, "acceptsale", itemid=item_id))
    assert local(again.tag) == "errorresponse"
    assert text(again, "error/code") == "ParameterError"
    assert text(again, "error/details/detail") == "The parameter 'itemid' is invalid."

    sandbox.configure(reaccept="accepted")
    assert text(parse(call(http, seller, "acceptsale", itemid=item_id)), "response/status") == "Accepted"


def test_acceptsale_of_an_unknown_or_foreign_item_is_invalid_itemid(
    sandbox: Sandbox,
    http: httpx.Client,
    seller: SellerAccount,
    make_seller: Callable[..., SellerAccount],
) -> None:
    other = make_seller()
    [created] = sandbox.add_sales(other.login, [_sale()])

    for item_id in ("123", created["item_ids"][0]):
        root = parse(call(http, seller, "acceptsale", itemid=item_id))
        assert text(root, "error/details/detail") == "The parameter 'itemid' is invalid."
    assert sandbox.sales(other.login)[0]["items"][0]["status"] == "TO_CONFIRM"


def test_getcurrentsales_pages_with_nexttoken_until_it_is_empty(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    sandbox.configure(sales_page_size=4)
    sandbox.add_sales(seller.login, [_sale(items=[{"status": "ACCEPTED"}]) for _ in range(10)])
    sandbox.add_sales(seller.login, [_sale()])  # awaiting: never in getcurrentsales

    seen: list[str] = []
    tokens: list[str] = []
    extra: dict[str, str] = {}
    while True:
        root = parse(call(http, seller, "getcurrentsales", **extra))
        seen += [e.text or "" for e in find_all(root, "response/sales/sale/purchaseid")]
        token = text(root, "response/nexttoken")
        if not token:
            break
        tokens.append(token)
        extra = {"nexttoken": token}

    assert len(tokens) == 2
    assert len(seen) == len(set(seen)) == 10


def test_getcurrentsales_purchasedate_keeps_sales_from_that_day_on(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    accepted = [{"status": "ACCEPTED"}]
    sandbox.add_sales(
        seller.login,
        [
            _sale(purchase_id="1", purchased_at="30/12/2024-23:59", items=accepted),
            _sale(purchase_id="2", purchased_at="31/12/2024-00:00", items=accepted),
            _sale(purchase_id="3", purchased_at="02/01/2025-10:00", items=accepted),
        ],
    )

    root = parse(call(http, seller, "getcurrentsales", purchasedate="2024-12-31"))

    assert [e.text for e in find_all(root, "response/sales/sale/purchaseid")] == ["2", "3"]
    assert text(root, "request/purchasedate") == "31/12/2024"
    assert text(root, "response/sales/sale/purchasedate") == "31/12/2024-00:00"


def test_ten_thousand_sales_seed_and_list_in_well_under_a_few_seconds(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    sales = [{"items": [{"sku": f"SKU-{n % 3 + 1}"}]} for n in range(10_000)]
    started = time.monotonic()
    seeded = http.post(f"/_sandbox/sellers/{seller.login}/sales", json={"sales": sales})
    seeded_in = time.monotonic() - started

    started = time.monotonic()
    response = call(http, seller, "getnewsales")
    listed_in = time.monotonic() - started

    assert seeded.status_code == 200 and len(seeded.json()["sales"]) == 10_000
    assert len(find_all(parse(response), "response/sales/sale")) == 10_000
    assert seeded_in < 3.0, seeded_in
    assert listed_in < 3.0, listed_in


def test_titles_with_cdata_terminators_and_euro_signs_parse_back_unchanged(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    title = "Lot <2> & « promo » 5€ ]]> fin"
    sandbox.add_sales(seller.login, [{"items": [{"sku": "SKU-1", "title": title}]}])

    root = parse(call(http, seller, "getnewsales"))

    assert text(root, "response/sales/sale/items/item/headline") == title
