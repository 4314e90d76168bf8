"""The real RakutenClient against the sandbox over HTTP: the calls after the import, each
outcome and each refusal, faults, and the call counts tests rely on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pytest

from connectors.rakuten import (
    TRANSPORTERS,
    Credentials,
    RakutenAlreadyAccepted,
    RakutenAuthError,
    RakutenClient,
    RakutenError,
    RakutenNotCancellable,
    RakutenNotShippable,
    RakutenRateLimited,
    RakutenRejected,
    RakutenResponseInvalid,
    RakutenUnavailable,
    RakutenUnknownItem,
    ShipmentLine,
    ShipmentOutcome,
    TodoItem,
    normalise_carrier,
)
from connectors.rakuten.sandbox import Sandbox
from tests.fixtures.sandbox import SellerAccount


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[RakutenClient]:
    with RakutenClient(base_url=sandbox.url, timeout=5) as rakuten:
        yield rakuten


@pytest.fixture
def creds(seller: SellerAccount) -> Credentials:
    return Credentials(seller.login, seller.token)


def order(
    sandbox: Sandbox, seller: SellerAccount, *statuses: str, purchase_id: str = "300", **sale: str
) -> list[str]:
    items = [{"sku": "SKU-1", "status": status} for status in statuses]
    [created] = sandbox.add_sales(seller.login, [{"purchase_id": purchase_id, "items": items, **sale}])
    return list(created["item_ids"])


def calls(sandbox: Sandbox, seller: SellerAccount, action: str) -> dict[str, int]:
    return dict(sandbox.calls(seller.login)["items"].get(action, {}))


def test_three_items_shipped_take_one_tracking_call_each(
    sandbox: Sandbox, client: RakutenClient, creds: Credentials, seller: SellerAccount
) -> None:
    items = order(sandbox, seller, "ACCEPTED", "ACCEPTED", "ACCEPTED")
    carrier = normalise_carrier("mondial relay")

    results = [
        client.set_tracking_package_infos(creds, i, transporter_name=carrier, tracking_number="MR1")
        for i in items
    ]

    assert [r.already_shipped for r in results] == [False] * 3
    assert calls(sandbox, seller, "settrackingpackageinfos") == dict.fromkeys(items, 1)
    assert {sandbox.item(seller.login, i)["tracking"]["transporter_name"] for i in items} == {"Mondial Relay"}


def test_tracking_sent_again_after_a_lost_answer_counts_as_shipped(
    sandbox: Sandbox, client: RakutenClient, creds: Credentials, seller: SellerAccount
) -> None:
    [item_id] = order(sandbox, seller, "ACCEPTED")
    client.set_tracking_package_infos(creds, item_id, transporter_name="DHL", tracking_number="1")

    again = client.set_tracking_package_infos(creds, item_id, transporter_name="DHL", tracking_number="1")

    assert again.already_shipped is True and "déjà été expédié" in (again.detail or "")


def test_tracking_an_item_still_to_confirm_is_not_shippable_until_it_is_accepted(
    sandbox: Sandbox, client: RakutenClient, creds: Credentials, seller: SellerAccount
) -> None:
    [item_id] = order(sandbox, seller, "TO_CONFIRM")

    with pytest.raises(RakutenNotShippable):
        client.set_tracking_package_infos(creds, item_id, transporter_name="GLS", tracking_number="G1")
    client.accept_sale_item(creds, item_id)
    result = client.set_tracking_package_infos(creds, item_id, transporter_name="GLS", tracking_number="G1")

    assert result.already_shipped is False


@pytest.mark.parametrize(("status", "expected"), [("REFUSED", RakutenNotShippable),
                                                  ("CANCELLED", RakutenNotShippable)])
def test_tracking_a_refused_or_cancelled_item_is_not_shippable(
    sandbox: Sandbox, client: RakutenClient, creds: Credentials, seller: SellerAccount,
    status: str, expected: type[RakutenError],
) -> None:
    [item_id] = order(sandbox, seller, status)
    with pytest.raises(expected):
        client.set_tracking_package_infos(creds, item_id, transporter_name="UPS", tracking_number="1Z")


def test_tracking_an_item_of_another_seller_is_an_unknown_item(
    sandbox: Sandbox, client: RakutenClient, creds: Credentials, make_seller: Callable[..., SellerAccount]
) -> None:
    [foreign] = order(sandbox, make_seller(), "ACCEPTED")
    with pytest.raises(RakutenUnknownItem):
        client.set_tracking_package_infos(creds, foreign, transporter_name="UPS", tracking_number="1Z")


def test_every_transporter_name_the_library_knows_is_taken_by_the_sandbox(
    sandbox: Sandbox, client: RakutenClient, creds: Credentials, seller: SellerAccount
) -> None:
    items = order(sandbox, seller, *["ACCEPTED"] * len(TRANSPORTERS))
    for item_id, name in zip(items, TRANSPORTERS, strict=True):
        client.set_tracking_package_infos(
            creds, item_id, transporter_name=name, tracking_number="N", tracking_url="https://t.example/"
        )
    sent = [sandbox.item(seller.login, i)["tracking"]["transporter_name"] for i in items]
    assert sent == list(TRANSPORTERS)


def test_a_shipping_file_without_tracking_ships_each_item_once(
    sandbox: Sandbox, client: RakutenClient, creds: Credentials, seller: SellerAccount
) -> None:
    items = order(sandbox, seller, "ACCEPTED", "ACCEPTED")
    lines = [ShipmentLine("300", item_id, "Courrier Suivi") for item_id in items]

    result = client.import_item_shipping_status(creds, lines)

    assert [line.outcome for line in result.lines] == [ShipmentOutcome.SHIPPED] * 2
    assert calls(sandbox, seller, "importitemshippingstatus") == dict.fromkeys(items, 1)
    assert sandbox.calls(seller.login)["actions"]["importitemshippingstatus"] == 1


def test_a_shipping_file_with_bad_lines_is_confirmed_after_resending_the_rest(
    sandbox: Sandbox, client: RakutenClient, creds: Credentials, seller: SellerAccount
) -> None:
    good, shipped, waiting = order(sandbox, seller, "ACCEPTED", "ACCEPTED", "TO_CONFIRM")
    client.set_tracking_package_infos(creds, shipped, transporter_name="DPD", tracking_number="D")
    lines = [ShipmentLine("300", i, "DPD") for i in (good, shipped, waiting)]

    first = client.import_item_shipping_status(creds, lines)
    unconfirmed = [line for line in lines if first.by_item[line.item_id].outcome == "not_confirmed"]
    retry = client.import_item_shipping_status(creds, unconfirmed)

    assert [line.outcome for line in first.lines] == [
        ShipmentOutcome.NOT_CONFIRMED, ShipmentOutcome.ALREADY_SHIPPED, ShipmentOutcome.NOT_SHIPPABLE
    ]
    assert [(line.item_id, line.outcome) for line in retry.lines] == [(good, ShipmentOutcome.SHIPPED)]


def test_refusing_an_awaiting_item_once_then_again_is_done_both_times_and_never_accepted(
    sandbox: Sandbox, client: RakutenClient, creds: Credentials, seller: SellerAccount
) -> None:
    [item_id] = order(sandbox, seller, "TO_CONFIRM")

    first = client.refuse_sale(creds, item_id)
    second = client.refuse_sale(creds, item_id)

    assert (first.already_refused, second.already_refused) == (False, True)
    with pytest.raises(RakutenRejected):
        client.accept_sale_item(creds, item_id)
    assert sandbox.item(seller.login, item_id)["status"] == "REFUSED"
    assert [s.items[0].status for s in client.get_new_sales(creds)] == ["REFUSED"]


def test_refusals_tell_an_accepted_item_from_a_cancelled_or_lapsed_one(
    sandbox: Sandbox, client: RakutenClient, creds: Credentials, seller: SellerAccount
) -> None:
    accepted, cancelled = order(sandbox, seller, "ACCEPTED", "TO_CONFIRM")
    [lapsed] = order(sandbox, seller, "TO_CONFIRM", purchase_id="301")
    sandbox.buyer_cancel(seller.login, cancelled)
    sandbox.lapse(seller.login, "301")

    with pytest.raises(RakutenAlreadyAccepted) as was_accepted:
        client.refuse_sale(creds, accepted)
    for item_id in (cancelled, lapsed):
        with pytest.raises(RakutenNotCancellable) as ended:
            client.refuse_sale(creds, item_id)
        assert ended.value.current_status == "EMPTIED"
    assert was_accepted.value.current_status == "CAPTURED"
    with pytest.raises(RakutenUnknownItem):
        client.refuse_sale(creds, "99999")


def test_cancelling_an_accepted_item_once_shows_cancelled_in_current_sales(
    sandbox: Sandbox, client: RakutenClient, creds: Credentials, seller: SellerAccount
) -> None:
    kept, cancelled = order(sandbox, seller, "ACCEPTED", "ACCEPTED")

    result = client.cancel_item(creds, cancelled, "Plus de stock, toutes nos excuses")

    assert result.item_id == cancelled
    assert calls(sandbox, seller, "cancelitem") == {cancelled: 1}
    assert sandbox.item(seller.login, cancelled)["cancel_comment"] == "Plus de stock, toutes nos excuses"
    [sale] = client.get_current_sales(creds)
    assert {i.item_id: i.status for i in sale.items} == {kept: "ACCEPTED", cancelled: "CANCELLED"}


def test_shipped_closed_and_awaiting_items_cannot_be_cancelled(
    sandbox: Sandbox, client: RakutenClient, creds: Credentials, seller: SellerAccount
) -> None:
    shipped, closed, waiting = order(sandbox, seller, "ACCEPTED", "CLOSED", "TO_CONFIRM")
    client.set_tracking_package_infos(creds, shipped, transporter_name="TNT", tracking_number="T")

    for item_id in (shipped, closed, waiting):
        with pytest.raises(RakutenNotCancellable):
            client.cancel_item(creds, item_id, "sorry")
    with pytest.raises(RakutenUnknownItem):
        client.cancel_item(creds, "99999", "sorry")


def test_the_todo_list_follows_a_claim_and_messages_without_marking_anything_read(
    sandbox: Sandbox, client: RakutenClient, creds: Credentials, seller: SellerAccount
) -> None:
    claimed, messaged = order(sandbox, seller, "ACCEPTED", "ACCEPTED")
    assert client.get_item_todo_list(creds) == []
    sandbox.open_claim(seller.login, claimed)
    sandbox.add_message(seller.login, messaged, "customer_service")

    during = client.get_item_todo_list(creds)
    again = client.get_item_todo_list(creds)
    sandbox.close_claim(seller.login, claimed)

    assert during == again == [
        TodoItem(claimed, frozenset({"CLAIM"})),
        TodoItem(messaged, frozenset({"UNREAD_MESSAGE_FROM_CUSTOMER_SERVICE"})),
    ]
    assert [item.item_id for item in client.get_item_todo_list(creds)] == [messaged]


def test_current_sales_over_a_look_back_show_each_state_once_across_pages(
    sandbox: Sandbox, client: RakutenClient, creds: Credentials, seller: SellerAccount
) -> None:
    sandbox.configure(sales_page_size=2)
    old = (dt.datetime.now() - dt.timedelta(days=60)).strftime("%d/%m/%Y-%H:%M")
    order(sandbox, seller, "ACCEPTED", purchase_id="1", purchased_at=old)
    statuses = ["ACCEPTED", "PENDING", "PENDING_CLAIM", "CANCELLED", "CLOSED", "REFUSED", "TO_CONFIRM"]
    for n, status in enumerate(statuses, start=10):
        order(sandbox, seller, status, purchase_id=str(n))

    sales = client.get_current_sales(creds, since=dt.date.today() - dt.timedelta(days=45))

    assert {s.purchase_id: s.items[0].status for s in sales} == {
        "10": "ACCEPTED", "11": "PENDING", "12": "PENDING_CLAIM", "13": "CANCELLED"
    }
    assert sandbox.calls(seller.login)["actions"]["getcurrentsales"] == 2


CALLS: dict[str, Callable[[RakutenClient, Credentials, str], object]] = {
    "settrackingpackageinfos": lambda c, k, i: c.set_tracking_package_infos(
        k, i, transporter_name="DPD", tracking_number="D"
    ),
    "importitemshippingstatus": lambda c, k, i: c.import_item_shipping_status(
        k, [ShipmentLine("300", i, "DPD")]
    ),
    "refusesale": lambda c, k, i: c.refuse_sale(k, i),
    "cancelitem": lambda c, k, i: c.cancel_item(k, i, "sorry"),
    "getitemtodolist": lambda c, k, i: c.get_item_todo_list(k),
}


@pytest.mark.parametrize("action", sorted(CALLS))
@pytest.mark.parametrize(
    ("kind", "expected"),
    [("http500", RakutenUnavailable), ("quota", RakutenRateLimited), ("malformed", RakutenResponseInvalid)],
)
def test_injected_faults_on_each_new_call_change_nothing_and_then_clear(
    sandbox: Sandbox, client: RakutenClient, creds: Credentials, seller: SellerAccount,
    action: str, kind: str, expected: type[RakutenError],
) -> None:
    status = "TO_CONFIRM" if action == "refusesale" else "ACCEPTED"
    [item_id] = order(sandbox, seller, status)
    sandbox.inject_fault(seller.login, kind, actions=[action])

    with pytest.raises(expected) as caught:
        CALLS[action](client, creds, item_id)
    unchanged = sandbox.item(seller.login, item_id)
    CALLS[action](client, creds, item_id)

    assert type(caught.value) is expected
    assert (unchanged["status"], unchanged["tracking"]) == (status, None)
    assert sandbox.calls(seller.login)["actions"][action] == 2


def test_a_wrong_token_is_an_auth_error_on_the_new_calls_too(
    sandbox: Sandbox, client: RakutenClient, seller: SellerAccount
) -> None:
    [item_id] = order(sandbox, seller, "TO_CONFIRM")
    wrong = Credentials(seller.login, "wrong")
    for action in sorted(CALLS):
        with pytest.raises(RakutenAuthError):
            CALLS[action](client, wrong, item_id)
    assert sandbox.item(seller.login, item_id)["status"] == "TO_CONFIRM"
