"""An item's life in the sandbox over real HTTP: what getnewsales and getcurrentsales show
of it at each step (rakuten-api.md §8b's table), driven through the control API."""

from __future__ import annotations

import httpx

from connectors.rakuten.sandbox import Sandbox
from tests.fixtures.sandbox import SellerAccount, call, find_all, parse, text


def shown(http: httpx.Client, seller: SellerAccount, action: str, **extra: str) -> dict[str, dict[str, str]]:
    """Return {purchase_id: {item_id: status}} as one call of `action` shows them."""
    root = parse(call(http, seller, action, **extra))
    return {
        text(sale, "purchaseid"): {
            text(item, "itemid"): text(item, "itemstatus") for item in find_all(sale, "items/item")
        }
        for sale in find_all(root, "response/sales/sale")
    }


def both(http: httpx.Client, seller: SellerAccount) -> tuple[dict[str, dict[str, str]], ...]:
    return shown(http, seller, "getnewsales"), shown(http, seller, "getcurrentsales")


def control(http: httpx.Client, seller: SellerAccount, path: str, **body: object) -> httpx.Response:
    return http.post(f"/_sandbox/sellers/{seller.login}/{path}", json=body)


def two_items(sandbox: Sandbox, seller: SellerAccount, purchase_id: str = "100") -> list[str]:
    [sale] = sandbox.add_sales(seller.login, [{"purchase_id": purchase_id, "items": [{"sku": "SKU-1"}] * 2}])
    return list(sale["item_ids"])


def test_a_buyer_cancelling_before_acceptance_shows_cancelled_in_new_sales_only(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    first, second = two_items(sandbox, seller)

    answer = control(http, seller, f"items/{first}/cancel")

    assert answer.status_code == 200 and answer.json()["status"] == "CANCELLED"
    assert both(http, seller) == ({"100": {first: "CANCELLED", second: "TO_CONFIRM"}}, {})


def test_a_buyer_cancellation_before_acceptance_may_vanish_instead(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    first, second = two_items(sandbox, seller)

    control(http, seller, f"items/{first}/cancel", visible=False)

    assert both(http, seller) == ({"100": {second: "TO_CONFIRM"}}, {})
    assert sandbox.item(seller.login, first)["status"] == "CANCELLED"


def test_a_buyer_cancelling_after_acceptance_shows_cancelled_in_current_sales(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    first, second = two_items(sandbox, seller)
    for item_id in (first, second):
        call(http, seller, "acceptsale", itemid=item_id)

    control(http, seller, f"items/{second}/cancel")

    assert both(http, seller) == ({}, {"100": {first: "ACCEPTED", second: "CANCELLED"}})


def test_a_refused_item_shows_refused_in_new_sales_and_never_in_current(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    first, second = two_items(sandbox, seller)
    call(http, seller, "refusesale", itemid=first)

    assert both(http, seller) == ({"100": {first: "REFUSED", second: "TO_CONFIRM"}}, {})
    call(http, seller, "acceptsale", itemid=second)
    assert both(http, seller) == ({}, {"100": {second: "ACCEPTED"}})


def test_a_lapsing_sale_vanishes_from_new_sales_without_reaching_current(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    first, second = two_items(sandbox, seller)

    answer = control(http, seller, "sales/100/lapse")

    assert answer.json() == {"purchase_id": "100", "item_ids": [first, second]}
    assert both(http, seller) == ({}, {})
    refused = parse(call(http, seller, "acceptsale", itemid=first))
    assert text(refused, "error/details/detail") == "The parameter 'itemid' is invalid."


def test_a_sale_lapsing_after_a_partial_acceptance_keeps_only_the_accepted_item(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    first, second = two_items(sandbox, seller)
    call(http, seller, "acceptsale", itemid=first)
    assert both(http, seller) == ({"100": {first: "ACCEPTED", second: "TO_CONFIRM"}}, {})

    sandbox.lapse(seller.login, "100")

    assert both(http, seller) == ({}, {"100": {first: "ACCEPTED"}})


def test_a_claim_opened_then_closed_moves_through_pending_claim_and_the_todo_list(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    [item_id] = sandbox.add_sales(seller.login, [{"purchase_id": "7", "items": [{"status": "ACCEPTED"}]}])[0][
        "item_ids"
    ]

    opened = control(http, seller, f"items/{item_id}/claim").json()
    during = shown(http, seller, "getcurrentsales")
    todo_during = find_all(parse(call(http, seller, "getitemtodolist")), "response/items/item")
    closed = control(http, seller, f"items/{item_id}/close_claim").json()

    assert (opened["status"], opened["causes"]) == ("PENDING_CLAIM", ["CLAIM"])
    assert during == {"7": {item_id: "PENDING_CLAIM"}}
    assert [(text(i, "itemid"), text(i, "causes/cause")) for i in todo_during] == [(item_id, "CLAIM")]
    assert (closed["status"], closed["causes"]) == ("ACCEPTED", [])
    assert shown(http, seller, "getcurrentsales") == {"7": {item_id: "ACCEPTED"}}
    assert find_all(parse(call(http, seller, "getitemtodolist")), "response/items/item") == []


def test_a_claim_closed_as_a_refund_or_a_finished_item_ends_the_item_in_current_sales(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    refunded, finished = sandbox.add_sales(
        seller.login, [{"purchase_id": "8", "items": [{"status": "ACCEPTED"}, {"status": "ACCEPTED"}]}]
    )[0]["item_ids"]
    for item_id in (refunded, finished):
        sandbox.open_claim(seller.login, item_id)

    sandbox.close_claim(seller.login, refunded, status="CANCELLED")
    sandbox.close_claim(seller.login, finished, status="CLOSED")

    assert both(http, seller) == ({}, {"8": {refunded: "CANCELLED"}})


def test_an_item_added_to_a_known_purchase_brings_the_sale_back_to_new_sales(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    [first] = sandbox.add_sales(seller.login, [{"purchase_id": "9", "items": [{"status": "ACCEPTED"}]}])[0][
        "item_ids"
    ]

    added = control(http, seller, "sales/9/items", items=[{"sku": "SKU-2"}]).json()

    [second] = added["item_ids"]
    assert added["purchase_id"] == "9"
    assert both(http, seller) == ({"9": {first: "ACCEPTED", second: "TO_CONFIRM"}}, {})
    call(http, seller, "acceptsale", itemid=second)
    assert both(http, seller) == ({}, {"9": {first: "ACCEPTED", second: "ACCEPTED"}})


def test_unread_messages_stay_on_the_todo_list_until_read(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    first, second = two_items(sandbox, seller)
    control(http, seller, f"items/{first}/messages", **{"from": "buyer"})
    control(http, seller, f"items/{first}/messages", **{"from": "customer_service"})
    control(http, seller, f"items/{second}/messages", **{"from": "buyer"})

    before = parse(call(http, seller, "getitemtodolist"))
    control(http, seller, f"items/{first}/read_messages")
    after = parse(call(http, seller, "getitemtodolist"))

    assert text(before, "response/sellerid") == seller.seller_id
    listed = find_all(before, "response/items/item")
    assert [[c.text for c in find_all(item, "causes/cause")] for item in listed] == [
        ["UNREAD_MESSAGE_FROM_BUYER", "UNREAD_MESSAGE_FROM_CUSTOMER_SERVICE"],
        ["UNREAD_MESSAGE_FROM_BUYER"],
    ]
    assert [text(i, "itemid") for i in find_all(after, "response/items/item")] == [second]


def test_changes_the_status_does_not_allow_are_conflicts_and_bad_bodies_are_refused(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    first, second = two_items(sandbox, seller)
    call(http, seller, "refusesale", itemid=first)

    assert control(http, seller, f"items/{first}/cancel").status_code == 409
    assert control(http, seller, f"items/{second}/claim").status_code == 409
    assert control(http, seller, f"items/{second}/close_claim").status_code == 409
    assert control(http, seller, f"items/{second}/cancel", visible="no").status_code == 400
    assert control(http, seller, f"items/{second}/messages", **{"from": "nobody"}).status_code == 400
    assert control(http, seller, "items/424242/claim").status_code == 400
    assert control(http, seller, "sales/424242/lapse").status_code == 400
    assert control(http, seller, f"items/{second}/fly").status_code == 404
    assert http.get(f"/_sandbox/sellers/{seller.login}/items/{second}").json()["status"] == "TO_CONFIRM"


def test_current_sales_pages_skip_nothing_when_sales_change_between_pages(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    sandbox.configure(sales_page_size=3)
    created = sandbox.add_sales(seller.login, [{"items": [{"status": "ACCEPTED"}]} for _ in range(9)])
    ids = [sale["purchase_id"] for sale in created]

    first = parse(call(http, seller, "getcurrentsales"))
    # Between pages, two sales already served leave the list (a claim closed as finished).
    for sale in created[:2]:
        [item_id] = sale["item_ids"]
        sandbox.set_item_status(seller.login, item_id, "CLOSED")
    seen = [e.text for e in find_all(first, "response/sales/sale/purchaseid")]
    token = text(first, "response/nexttoken")
    while token:
        page = parse(call(http, seller, "getcurrentsales", nexttoken=token))
        seen += [e.text for e in find_all(page, "response/sales/sale/purchaseid")]
        token = text(page, "response/nexttoken")

    assert seen == ids


def test_calls_are_counted_per_action_and_per_item_including_faults(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    first, second = two_items(sandbox, seller)
    sandbox.inject_fault(seller.login, "http500", actions=["acceptsale"])
    for item_id in (first, first, second):
        call(http, seller, "acceptsale", itemid=item_id)
    call(http, seller, "getnewsales")

    counted = http.get(f"/_sandbox/sellers/{seller.login}/calls").json()

    assert counted["actions"] == {"acceptsale": 3, "getnewsales": 1}
    assert counted["items"] == {"acceptsale": {first: 2, second: 1}}
    assert http.get("/_sandbox/sellers/ghost/calls").status_code == 404
