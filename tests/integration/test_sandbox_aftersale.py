"""The sandbox's calls after the import over real HTTP: Rakuten's roots, texts and rules for
tracking, shipping files, refusal and cancellation."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from connectors.rakuten.sandbox import Sandbox
from tests.fixtures.sandbox import SellerAccount, call, find_all, local, parse, post_file, text

TRACKING_NS = "{http://pmcdn.priceminister.com/res/schema/settrackingpackageinfos}"


def accepted_item(sandbox: Sandbox, seller: SellerAccount, purchase_id: str = "200") -> str:
    items = [{"status": "ACCEPTED"}]
    [sale] = sandbox.add_sales(seller.login, [{"purchase_id": purchase_id, "items": items}])
    return str(sale["item_ids"][0])


def awaiting_item(sandbox: Sandbox, seller: SellerAccount) -> str:
    return str(sandbox.add_sales(seller.login, [{"items": [{"sku": "SKU-1"}]}])[0]["item_ids"][0])


def track(http: httpx.Client, seller: SellerAccount, item_id: str, **extra: str) -> httpx.Response:
    options = {"transporter_name": "Colissimo", "tracking_number": "6A123", **extra}
    return call(http, seller, "settrackingpackageinfos", itemid=item_id, **options)


def detail(response: httpx.Response) -> str:
    root = parse(response)
    assert local(root.tag) == "errorresponse"
    return text(root, "error/details/detail")


def test_tracking_an_accepted_item_answers_ok_under_rakutens_odd_root_and_keeps_it(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    item_id = accepted_item(sandbox, seller)

    root = parse(track(http, seller, item_id, transporter_name="Autre", tracking_url="https://t.example/1"))

    assert root.tag == f"{TRACKING_NS}setshippingpackageinfosresult"
    assert text(root, "response/status") == "OK"
    assert text(root, "request/transporterName") == "Autre"
    assert sandbox.item(seller.login, item_id)["tracking"] == {
        "transporter_name": "Autre", "tracking_number": "6A123",
        "tracking_url": "https://t.example/1", "via": "settrackingpackageinfos",
    }
    assert sandbox.item(seller.login, item_id)["status"] == "ACCEPTED"


def test_tracking_an_item_twice_says_it_was_shipped_already_and_keeps_the_first(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    item_id = accepted_item(sandbox, seller)
    track(http, seller, item_id)

    again = track(http, seller, item_id, tracking_number="OTHER")

    assert detail(again) == f"Article {item_id} : a déjà été expédié"
    assert sandbox.item(seller.login, item_id)["tracking"]["tracking_number"] == "6A123"


def test_tracking_is_refused_for_an_item_not_accepted_and_for_unknown_items(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount, make_seller: Callable[..., SellerAccount]
) -> None:
    waiting = awaiting_item(sandbox, seller)
    foreign = accepted_item(sandbox, make_seller())

    assert detail(track(http, seller, waiting)).startswith(f"Article {waiting} : statut incorrect.")
    assert "'confirmé'" in detail(track(http, seller, waiting))
    assert detail(track(http, seller, foreign)) == f"Article {foreign} : numéro incorrect"
    assert detail(track(http, seller, "abc")) == "The parameter 'itemid' is invalid."
    assert sandbox.item(seller.login, waiting)["tracking"] is None


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"transporter_name": "colissimo"}, "The parameter 'transporter_name' is invalid."),
        ({"transporter_name": "Autre"}, "The parameter tracking_url is mandatory"),
        ({"tracking_number": ""}, "The parameter tracking_number is mandatory"),
    ],
)
def test_tracking_parameters_follow_rakutens_rules(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount, extra: dict[str, str], expected: str
) -> None:
    item_id = accepted_item(sandbox, seller)

    assert detail(track(http, seller, item_id, **extra)) == expected
    assert sandbox.item(seller.login, item_id)["tracking"] is None


def shipping_file(*lines: tuple[str, str, str, str]) -> bytes:
    items = "".join(
        f"<item><purchaseid>{p}</purchaseid><itemid>{i}</itemid><transporter>{t}</transporter>"
        f"<trackingnumber>{n}</trackingnumber><trackingurl/></item>"
        for p, i, t, n in lines
    )
    return f'<?xml version="1.0" encoding="UTF-8"?><items>{items}</items>'.encode()


def test_a_shipping_file_applies_every_line_and_answers_importresult_ok(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    first, second = accepted_item(sandbox, seller, "1"), accepted_item(sandbox, seller, "2")

    root = parse(post_file(http, seller, "importitemshippingstatus",
                           shipping_file(("1", first, "Courrier Suivi", ""), ("2", second, "DPD", "D9"))))

    assert local(root.tag) == "importresult" and text(root, "response/status") == "OK"
    assert find_all(root, "response/importid") == []
    assert sandbox.item(seller.login, first)["tracking"] == {
        "transporter_name": "Courrier Suivi", "tracking_number": "", "tracking_url": "",
        "via": "importitemshippingstatus",
    }
    assert sandbox.item(seller.login, second)["tracking"]["tracking_number"] == "D9"


def test_a_shipping_file_with_refused_lines_names_each_and_applies_none(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    good, shipped, waiting = (accepted_item(sandbox, seller, "1"), accepted_item(sandbox, seller, "2"),
                              awaiting_item(sandbox, seller))
    track(http, seller, shipped)

    waiting_purchase = sandbox.item(seller.login, waiting)["purchase_id"]

    content = shipping_file(("1", good, "DPD", ""), ("2", shipped, "DPD", ""),
                            (waiting_purchase, waiting, "DPD", ""), ("2", good, "DPD", ""),
                            ("1", "999", "DPD", ""))
    root = parse(post_file(http, seller, "importitemshippingstatus", content))

    details = [d.text.strip() for d in find_all(root, "error/details/detail") if d.text]
    assert details[0] == f"Article {shipped} : a déjà été expédié"
    assert details[1].startswith(f"Article {waiting} : statut incorrect.")
    assert details[2:] == [f"Article {good} : numéro incorrect", "Article 999 : numéro incorrect"]
    assert sandbox.item(seller.login, good)["tracking"] is None


def test_an_unreadable_shipping_file_or_none_at_all_is_refused(
    http: httpx.Client, seller: SellerAccount
) -> None:
    assert detail(post_file(http, seller, "importitemshippingstatus", b"<items><item>")) == (
        "The file could not be read."
    )
    assert detail(call(http, seller, "importitemshippingstatus")) == "The parameter file is mandatory"


def test_refusesale_refuses_an_awaiting_item_and_names_the_status_of_any_other(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    waiting, accepted, cancelled = awaiting_item(sandbox, seller), accepted_item(sandbox, seller), (
        awaiting_item(sandbox, seller))
    sandbox.buyer_cancel(seller.login, cancelled)

    refused = parse(call(http, seller, "refusesale", itemid=waiting))

    assert local(refused.tag) == "salerefusalresult" and text(refused, "response/status") == "Refused"
    assert detail(call(http, seller, "refusesale", itemid=accepted)) == (
        "Current status : CAPTURED - Required status : REQUESTED"
    )
    assert detail(call(http, seller, "refusesale", itemid=cancelled)).startswith("Current status : EMPTIED")
    assert detail(call(http, seller, "refusesale", itemid=waiting)).startswith("Current status : REFUSED")
    assert detail(call(http, seller, "refusesale", itemid="123")) == "The parameter 'itemid' is invalid."
    assert detail(call(http, seller, "acceptsale", itemid=waiting)) == "The parameter 'itemid' is invalid."


def test_cancelitem_cancels_an_accepted_item_with_its_message_to_the_buyer(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    item_id = accepted_item(sandbox, seller)

    root = parse(call(http, seller, "cancelitem", itemid=item_id, comment="Rupture de stock, désolé"))

    assert local(root.tag) == "cancelitemresult" and text(root, "response/status") == "CANCELLED"
    assert text(root, "request/comment") == "Rupture de stock, désolé"
    assert sandbox.item(seller.login, item_id)["cancel_comment"] == "Rupture de stock, désolé"


def test_cancelitem_refuses_shipped_awaiting_claimed_and_cancelled_items_and_long_messages(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    shipped, waiting, claimed, cancelled, fine = (
        accepted_item(sandbox, seller, "1"), awaiting_item(sandbox, seller),
        accepted_item(sandbox, seller, "3"), accepted_item(sandbox, seller, "4"),
        accepted_item(sandbox, seller, "5"),
    )
    track(http, seller, shipped)
    sandbox.open_claim(seller.login, claimed)
    call(http, seller, "cancelitem", itemid=cancelled, comment="x")

    for item_id in (shipped, waiting, claimed, cancelled):
        assert detail(call(http, seller, "cancelitem", itemid=item_id, comment="x")) == (
            "This item cannot be cancelled"
        )
    assert detail(call(http, seller, "cancelitem", itemid=fine, comment="x" * 401)) == (
        "Your message cannot exceed 400 characters"
    )
    assert detail(call(http, seller, "cancelitem", itemid=fine)) == "The parameter comment is mandatory"
    assert sandbox.item(seller.login, fine)["status"] == "ACCEPTED"
