"""The /_sandbox/ JSON control API over HTTP."""

from __future__ import annotations

import httpx

from connectors.rakuten.sandbox import Sandbox
from tests.fixtures.sandbox import SellerAccount, call, find_all, parse, text


def test_a_seller_created_over_http_can_call_the_web_services(http: httpx.Client) -> None:
    created = http.post("/_sandbox/sellers", json={"login": "Boutique", "token": "t0k", "seller_id": "42"})
    account = SellerAccount("Boutique", "t0k", "42")

    assert created.json() == {"login": "Boutique", "seller_id": "42"}
    assert text(parse(call(http, account, "getnewsales")), "response/sellerid") == "42"


def test_adding_an_existing_login_is_a_conflict(http: httpx.Client, seller: SellerAccount) -> None:
    response = http.post("/_sandbox/sellers", json={"login": seller.login, "token": "x"})

    assert response.status_code == 409


def test_unknown_sellers_routes_and_bad_bodies_are_reported(http: httpx.Client) -> None:
    assert http.get("/_sandbox/sellers/ghost/listings").status_code == 404
    assert http.get("/_sandbox/nothing").status_code == 404
    assert http.post("/_sandbox/config", content=b"{not json").status_code == 400
    assert http.post("/_sandbox/config", json={"no_such_key": 1}).status_code == 400
    assert http.post("/_sandbox/sellers", json={"login": "x"}).status_code == 400


def test_config_round_trips_and_reset_restores_it(http: httpx.Client, seller: SellerAccount) -> None:
    changed = http.post("/_sandbox/config", json={"sales_page_size": 7, "import_delay_s": 1})

    assert changed.json()["sales_page_size"] == 7
    assert http.get("/_sandbox/config").json()["import_delay_s"] == 1.0
    assert http.post("/_sandbox/reset").json() == {"ok": True}
    assert http.get("/_sandbox/config").json()["sales_page_size"] == 100
    assert http.get(f"/_sandbox/sellers/{seller.login}/listings").status_code == 404


def test_listings_are_upserted_and_read_back(http: httpx.Client, seller: SellerAccount) -> None:
    path = f"/_sandbox/sellers/{seller.login}/listings"

    http.post(path, json={"listings": [{"sku": "SKU-1", "quantity": 1}, {"sku": "NEW", "quantity": 2}]})

    assert http.get(path).json() == {"listings": {"SKU-1": 1, "SKU-2": 3, "SKU-3": 0, "NEW": 2}}


def test_seeded_sales_report_item_states_and_a_cancelled_accepted_item_stays_in_current(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    seeded = http.post(
        f"/_sandbox/sellers/{seller.login}/sales",
        json={"sales": [{"purchase_id": "777", "items": [{"sku": "SKU-1", "price": "9.9"}]}]},
    ).json()
    item_id = seeded["sales"][0]["item_ids"][0]
    call(http, seller, "acceptsale", itemid=item_id)

    http.post(f"/_sandbox/sellers/{seller.login}/items/{item_id}", json={"status": "CANCELLED"})

    [sale] = http.get(f"/_sandbox/sellers/{seller.login}/sales").json()["sales"]
    assert sale["purchase_id"] == "777" and sale["awaiting_acceptance"] is False
    assert sale["items"][0]["status"] == "CANCELLED"
    current = parse(call(http, seller, "getcurrentsales"))
    assert text(current, "response/sales/sale/items/item/itemstatus") == "CANCELLED"
    assert text(current, "response/sales/sale/items/item/price/amount") == "9.9"
    assert find_all(parse(call(http, seller, "getnewsales")), "response/sales/sale") == []


def test_a_known_purchase_id_gains_the_new_items(sandbox: Sandbox, seller: SellerAccount) -> None:
    sandbox.add_sales(seller.login, [{"purchase_id": "9", "items": [{"sku": "SKU-1"}]}])
    sandbox.add_sales(seller.login, [{"purchase_id": "9", "items": [{"sku": "SKU-1"}]}])

    [sale] = sandbox.sales(seller.login)

    assert len(sale["items"]) == 2
    assert len({item["item_id"] for item in sale["items"]}) == 2


def test_a_sale_can_be_served_unreadable_and_readable_again(
    http: httpx.Client, seller: SellerAccount
) -> None:
    http.post(
        f"/_sandbox/sellers/{seller.login}/sales",
        json={"sales": [{"purchase_id": "880", "items": [{"sku": "SKU-1", "price": "9.90"}]}]},
    )
    path = f"/_sandbox/sellers/{seller.login}/sales/880/corrupt"

    corrupted = http.post(path, json={"texts": {"price/amount": "neuf euros", "purchasedate": "hier"}})
    served = call(http, seller, "getnewsales").content
    restored = http.post(path, json={"texts": {}})
    served_again = call(http, seller, "getnewsales").content

    assert corrupted.status_code == 200
    assert b"<amount>neuf euros</amount>" in served and b"<purchasedate>hier</purchasedate>" in served
    assert b"<amount>12.50</amount>" not in served and served.count(b"<amount>neuf euros</amount>") == 1
    assert restored.json() == {"purchase_id": "880", "texts": {}}
    assert b"<amount>9.90</amount>" in served_again and b"neuf euros" not in served_again


def test_corrupting_an_unknown_sale_or_field_is_refused(http: httpx.Client, seller: SellerAccount) -> None:
    sale = {"purchase_id": "881", "items": [{}]}
    http.post(f"/_sandbox/sellers/{seller.login}/sales", json={"sales": [sale]})

    assert http.post(f"/_sandbox/sellers/{seller.login}/sales/999/corrupt",
                     json={"texts": {"purchasedate": "x"}}).status_code == 400
    assert http.post(f"/_sandbox/sellers/{seller.login}/sales/881/corrupt",
                     json={"texts": {"buyer": "x"}}).status_code == 400
