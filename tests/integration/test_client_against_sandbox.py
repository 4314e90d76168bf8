"""The real RakutenClient against the sandbox over HTTP: every call and every failure mapping."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest

from connectors.rakuten import (
    Credentials,
    ImportReport,
    ImportStatus,
    RakutenAuthError,
    RakutenClient,
    RakutenInsufficientRights,
    RakutenRateLimited,
    RakutenRejected,
    RakutenResponseInvalid,
    RakutenUnavailable,
    build_stock_files,
)
from connectors.rakuten.sandbox import Sandbox
from tests.fixtures.sandbox import SellerAccount
from tests.waiting import wait_until


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[RakutenClient]:
    with RakutenClient(base_url=sandbox.url, timeout=5) as rakuten:
        yield rakuten


def _creds(account: SellerAccount) -> Credentials:
    return Credentials(account.login, account.token)


def test_check_credentials_returns_the_seller_id(client: RakutenClient, seller: SellerAccount) -> None:
    assert client.check_credentials(_creds(seller)) == seller.seller_id


def test_unreadable_sales_are_reported_beside_the_readable_ones_until_the_sandbox_serves_them_readable(
    sandbox: Sandbox, client: RakutenClient, seller: SellerAccount
) -> None:
    seeded = sandbox.add_sales(seller.login, [{"items": [{"sku": "SKU-1"}]} for _ in range(7)])
    ids = [s["purchase_id"] for s in seeded]
    sandbox.corrupt_sale(seller.login, ids[1], {"price/amount": "neuf euros"})
    sandbox.corrupt_sale(seller.login, ids[4], {"purchasedate": "hier"})

    unreadable = client.get_new_sales(_creds(seller)).read()
    sandbox.corrupt_sale(seller.login, ids[1], {})
    sandbox.corrupt_sale(seller.login, ids[4], {})
    readable = client.get_new_sales(_creds(seller)).read()

    assert [s.purchase_id for s in unreadable.sales] == [ids[0], ids[2], ids[3], ids[5], ids[6]]
    assert [(f.purchase_id, f.detail) for f in unreadable.failures] == [
        (ids[1], "items/item[1]/price/amount: not a number"), (ids[4], "purchasedate: not a date")
    ]
    assert [s.purchase_id for s in readable.sales] == ids and readable.failures == []


def test_a_wrong_token_raises_auth_error(client: RakutenClient, seller: SellerAccount) -> None:
    with pytest.raises(RakutenAuthError):
        client.check_credentials(Credentials(seller.login, "wrong"))


def test_new_sales_carry_items_addresses_and_accented_text(
    sandbox: Sandbox, client: RakutenClient, seller: SellerAccount
) -> None:
    sandbox.add_sales(
        seller.login,
        [
            {
                "purchased_at": "15/07/2024-14:30",
                "layout": "relay",
                "buyer": {"last_name": "Lefèvre", "first_name": "Zoë"},
                "items": [{"sku": "SKU-1", "price": "10.5"}, {"sku": "SKU-1", "price": "10.5"}],
            }
        ],
    )

    [sale] = client.get_new_sales(_creds(seller)).read().sales

    assert [item.sku for item in sale.items] == ["SKU-1", "SKU-1"]
    assert sale.items[0].price.amount == Decimal("10.5")
    assert sale.items[0].status == "TO_CONFIRM"
    assert sale.purchased_at == dt.datetime(2024, 7, 15, 12, 30, tzinfo=dt.UTC)
    assert sale.pickup_point is not None and sale.pickup_point.last_name == "Lefèvre"
    assert sale.billing_address is not None and sale.billing_address.first_name == "Zoë"
    assert sale.delivery_address is None


def test_accepting_every_item_moves_the_sale_to_current_sales(
    sandbox: Sandbox, client: RakutenClient, seller: SellerAccount
) -> None:
    sandbox.configure(sales_page_size=2)
    sandbox.add_sales(seller.login, [{"items": [{"status": "ACCEPTED"}]} for _ in range(3)])
    [created] = sandbox.add_sales(seller.login, [{"items": [{"sku": "SKU-2"}]}])
    creds = _creds(seller)

    assert client.accept_sale_item(creds, created["item_ids"][0]) == "Accepted"

    assert client.get_new_sales(creds).read().sales == []
    current = client.get_current_sales(creds, since=dt.date.today() - dt.timedelta(days=7)).read().sales
    assert len(current) == 4
    assert created["purchase_id"] in {sale.purchase_id for sale in current}


def test_accepting_an_unknown_item_is_rejected(client: RakutenClient, seller: SellerAccount) -> None:
    with pytest.raises(RakutenRejected) as caught:
        client.accept_sale_item(_creds(seller), "123")

    assert not isinstance(caught.value, RakutenAuthError)


def _report(client: RakutenClient, creds: Credentials, import_id: str) -> ImportReport:
    def done() -> ImportReport | None:
        report = client.get_import_report(creds, import_id)
        return None if report.status is ImportStatus.PENDING else report

    result: ImportReport = wait_until(done)
    return result


def test_a_stock_file_is_applied_and_unknown_skus_come_back_as_errors(
    sandbox: Sandbox, client: RakutenClient, seller: SellerAccount
) -> None:
    sandbox.configure(import_delay_s=0.2, report_page_size=1)
    creds = _creds(seller)
    [content] = build_stock_files([("SKU-1", 11), ("GHOST", 2), ("SKU-3", 4)])

    import_id = client.upload_stock_file(creds, content)
    assert client.get_import_report(creds, import_id).status is ImportStatus.PENDING
    report = _report(client, creds, import_id)

    assert report.status is ImportStatus.DONE
    assert [(e.sku, e.error_code) for e in report.errors] == [("GHOST", "60")]
    assert report.errors[0].error_text is not None and "référence" in report.errors[0].error_text
    assert sandbox.listings(seller.login) == {"SKU-1": 11, "SKU-2": 3, "SKU-3": 4}
    assert sandbox.files(seller.login)[0]["lines"] == [["SKU-1", 11], ["GHOST", 2], ["SKU-3", 4]]


def test_a_file_sent_too_soon_raises_rate_limited(
    sandbox: Sandbox, client: RakutenClient, seller: SellerAccount
) -> None:
    sandbox.configure(file_min_interval_s=600)
    [content] = build_stock_files([("SKU-1", 1)])
    client.upload_stock_file(_creds(seller), content)

    with pytest.raises(RakutenRateLimited):
        client.upload_stock_file(_creds(seller), content)


def test_a_non_pro_seller_raises_insufficient_rights_on_stock(
    client: RakutenClient, make_seller: Callable[..., SellerAccount]
) -> None:
    individual = make_seller(pro=False)
    [content] = build_stock_files([("SKU-1", 1)])

    assert client.check_credentials(_creds(individual)) == individual.seller_id
    with pytest.raises(RakutenInsufficientRights):
        client.upload_stock_file(_creds(individual), content)


@pytest.mark.parametrize(
    ("kind", "options", "expected"),
    [
        ("http500", {}, RakutenUnavailable),
        ("quota", {}, RakutenRateLimited),
        ("malformed", {}, RakutenResponseInvalid),
        ("billion_laughs", {}, RakutenResponseInvalid),
        ("huge", {"size_mb": 40}, RakutenResponseInvalid),
        ("hang", {"hang_s": 30}, RakutenUnavailable),
    ],
)
def test_faults_map_to_the_documented_errors(
    sandbox: Sandbox,
    seller: SellerAccount,
    kind: str,
    options: dict[str, object],
    expected: type[Exception],
) -> None:
    sandbox.inject_fault(seller.login, kind, **options)

    with RakutenClient(base_url=sandbox.url, timeout=1) as client, pytest.raises(expected):
        client.check_credentials(_creds(seller))
