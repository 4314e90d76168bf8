"""The sandbox's stock web service: uploads, asynchronous reports, error lines, quota."""

from __future__ import annotations

import httpx

from connectors.rakuten.sandbox import Sandbox
from tests.fixtures.sandbox import (
    SellerAccount,
    call,
    find_all,
    local,
    parse,
    stock_file,
    text,
    upload,
)
from tests.waiting import wait_until


def _import_id(response: httpx.Response) -> str:
    root = parse(response)
    assert local(root.tag) == "importresult", response.text
    assert text(root, "response/status") == "OK"
    return text(root, "response/importid")


def _report_when_done(http: httpx.Client, seller: SellerAccount, import_id: str) -> httpx.Response:
    def done() -> httpx.Response | None:
        response = call(http, seller, "genericimportreport", fileid=import_id)
        return None if text(parse(response), "response/file/status") == "En attente" else response

    result: httpx.Response = wait_until(done)
    return result


def test_a_stock_file_is_pending_then_processed_and_applied(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    sandbox.configure(import_delay_s=0.3)
    import_id = _import_id(upload(http, seller, stock_file([("SKU-1", 9), ("SKU-2", 0)])))

    pending = parse(call(http, seller, "genericimportreport", fileid=import_id))
    assert text(pending, "response/file/status") == "En attente"
    assert find_all(pending, "response/product") == []
    assert sandbox.listings(seller.login)["SKU-1"] == 5

    report = parse(_report_when_done(http, seller, import_id))
    assert text(report, "response/file/status") == "Traité"
    assert text(report, "response/file/errorlines") == "0"
    assert text(report, "response/file/successrate") == "100%"
    assert [text(p, "status") for p in find_all(report, "response/product")] == ["Traité"] * 2
    assert sandbox.listings(seller.login) == {"SKU-1": 9, "SKU-2": 0, "SKU-3": 0}


def test_unknown_and_rejected_skus_are_error_lines_and_not_applied(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    sandbox.set_reject_skus(seller.login, ["SKU-2"])
    content = stock_file([("SKU-1", 2), ("NOPE", 4), ("SKU-2", 8)])
    import_id = _import_id(upload(http, seller, content))

    response = _report_when_done(http, seller, import_id)

    report = parse(response)
    products = {text(p, "sku"): p for p in find_all(report, "response/product")}
    assert text(products["SKU-1"], "status") == "Traité"
    assert text(products["NOPE"], "status") == "Erreur"
    assert text(products["NOPE"], "errors/error/error_code") == "60"
    assert "n'existe pas" in text(products["NOPE"], "errors/error/error_text")
    assert "référence".encode("iso-8859-1") in response.content
    assert text(products["SKU-2"], "errors/error/error_code") == "70"
    assert text(report, "response/file/errorlines") == "2"
    assert text(report, "response/file/successrate") == "33%"
    assert sandbox.listings(seller.login) == {"SKU-1": 2, "SKU-2": 3, "SKU-3": 0}


def test_received_files_keep_every_line_in_order_including_duplicate_skus(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    content = stock_file([("SKU-1", 1), ("SKU-1", 4)])
    import_id = _import_id(upload(http, seller, content))

    [received] = http.get(f"/_sandbox/sellers/{seller.login}/files").json()

    assert received["import_id"] == import_id
    assert received["lines"] == [["SKU-1", 1], ["SKU-1", 4]]
    assert received["size_bytes"] == len(content)
    wait_until(lambda: sandbox.files(seller.login)[0]["status"] == "Traité")
    assert sandbox.listings(seller.login)["SKU-1"] == 4


def test_a_file_without_readable_lines_reports_no_line_loaded(
    http: httpx.Client, seller: SellerAccount
) -> None:
    import_id = _import_id(upload(http, seller, b"<items><item>not closed"))

    report = parse(_report_when_done(http, seller, import_id))

    assert text(report, "response/file/status") == "Aucune ligne n\u2019a été chargée"


def test_a_second_file_too_soon_is_quota_exceeded_and_not_stored(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    sandbox.configure(file_min_interval_s=60)
    _import_id(upload(http, seller, stock_file([("SKU-1", 1)])))

    refused = parse(upload(http, seller, stock_file([("SKU-1", 2)])))

    assert text(refused, "error/code") == "InvalidUserRights"
    assert text(refused, "error/message") == "Quota exceeded."
    assert "maximum number of requests per hour" in text(refused, "error/details/detail")
    assert len(sandbox.files(seller.login)) == 1


def test_report_product_lines_are_paged_with_nexttoken(
    sandbox: Sandbox, http: httpx.Client, seller: SellerAccount
) -> None:
    sandbox.configure(report_page_size=2, import_delay_s=0)
    import_id = _import_id(upload(http, seller, stock_file([("SKU-1", n) for n in range(5)])))

    skus_per_page: list[int] = []
    extra = {"fileid": import_id}
    while True:
        root = parse(call(http, seller, "genericimportreport", **extra))
        skus_per_page.append(len(find_all(root, "response/product")))
        assert text(root, "response/file/totallines") == "5"
        tokens = find_all(root, "response/nexttoken")
        if not tokens:
            break
        extra = {"fileid": import_id, "nexttoken": tokens[0].text or ""}

    assert skus_per_page == [2, 2, 1]


def test_an_unknown_file_id_is_an_invalid_parameter(http: httpx.Client, seller: SellerAccount) -> None:
    root = parse(call(http, seller, "genericimportreport", fileid="999"))

    assert text(root, "error/details/detail") == "The parameter 'fileid' is invalid."


def test_an_upload_without_a_file_part_is_a_parameter_error(
    http: httpx.Client, seller: SellerAccount
) -> None:
    response = http.post(
        "/stock_ws",
        params=seller.params("genericimportfile"),
        files={"other": ("x.xml", b"<items/>", "text/xml")},
    )

    assert text(parse(response), "error/details/detail") == "The parameter file is mandatory"
