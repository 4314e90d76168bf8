"""Parsing genericimportreport pages and mapping Rakuten's French status labels."""

from __future__ import annotations

import logging
import unicodedata

import pytest

from connectors.rakuten import (
    ImportStatus,
    RakutenResponseInvalid,
    ReportLineFailure,
    SkuError,
    parse_report_page,
)
from connectors.rakuten.parse_report import build_report, status_of

REPORT_2011 = """<?xml version="1.0" encoding="ISO-8859-1"?>

<genericimportreportresult xmlns="http://pmcdn.priceminister.com/res/schema/genericimportreport">
<request><version>2011-11-29</version><fileid>123</fileid></request>
<response>
  <file>
    <filename><![CDATA[stock.xml]]></filename>
    <status><![CDATA[Traité]]></status>
    <totallines>3</totallines><processedlines>3</processedlines>
    <errorlines>1</errorlines><successrate>73%</successrate>
  </file>
  <product>
    <sku><![CDATA[SKU OK]]></sku><status><![CDATA[Traité]]></status>
    <pid>111</pid><aid>222</aid><errors/>
  </product>
  <product>
    <sku>
      <![CDATA[ MY SKU 2 ]]>
    </sku>
    <status>Erreur</status>
    <errors><error>
      <error_key>alias</error_key><error_code>60</error_code>
      <error_text>L&#8217;alias n'est pas reconnu, vérifiez la catégorie</error_text>
      <fatal_error>1</fatal_error>
    </error></errors>
  </product>
</response>
</genericimportreportresult>
""".encode("iso-8859-1")


def test_2011_report_gives_file_summary_and_errors_of_failed_lines_only() -> None:
    page = parse_report_page(REPORT_2011)
    report = build_report("123", [page])
    assert report.status is ImportStatus.DONE and report.status_label == "Traité"
    assert (report.total_lines, report.error_lines) == (3, 1)
    assert report.errors == (
        SkuError(
            sku="MY SKU 2",
            error_code="60",
            error_text="L\u2019alias n'est pas reconnu, vérifiez la catégorie",
            error_key="alias",
            fatal=True,
        ),
    )
    assert page.next_token is None


def test_report_reads_seller_reference_and_code_message_fallbacks_and_several_errors() -> None:
    body = (
        "<r><response><file><status>M.à.j. en cours</status></file><nexttoken>T2</nexttoken>"
        "<product><sellerReference>REF-1</sellerReference><errors>"
        "<error><code>12</code><message>Quantité invalide</message><fatal_error>0</fatal_error>"
        "</error><error><code>13</code></error></errors></product></response></r>"
    ).encode()
    page = parse_report_page(body)
    assert page.next_token == "T2"
    report = build_report("9", [page])
    assert report.status is ImportStatus.PENDING
    assert [(e.sku, e.error_code, e.error_text, e.fatal) for e in report.errors] == [
        ("REF-1", "12", "Quantité invalide", False),
        ("REF-1", "13", None, None),
    ]


def test_pages_merge_errors_while_summary_comes_from_the_first_page() -> None:
    first = parse_report_page(
        b"<r><response><file><status>Erreur</status><errorlines>2</errorlines></file>"
        b"<product><sku>A</sku><errors><error><error_code>1</error_code></error></errors>"
        b"</product><nexttoken>n</nexttoken></response></r>"
    )
    second = parse_report_page(
        b"<r><response><product><sku>B</sku><errors><error><error_code>2</error_code>"
        b"</error></errors></product></response></r>"
    )
    report = build_report("5", [first, second])
    assert report.status is ImportStatus.FAILED and report.error_lines == 2
    assert [e.sku for e in report.errors] == ["A", "B"]


def test_report_without_file_summary_is_invalid() -> None:
    page = parse_report_page(b"<r><response><nexttoken/></response></r>")
    with pytest.raises(RakutenResponseInvalid):
        build_report("5", [page])


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("Reçu", ImportStatus.PENDING),
        ("En attente", ImportStatus.PENDING),
        ("M.à.j. en cours", ImportStatus.PENDING),
        ("Traité", ImportStatus.DONE),
        ("Fichier précédent identique, pas de traitement", ImportStatus.DONE),
        ("Annulé", ImportStatus.FAILED),
        ("Aucune ligne n’a été chargée", ImportStatus.FAILED),
        ("Aucune ligne n'a ete chargee", ImportStatus.FAILED),
        ("Erreur", ImportStatus.FAILED),
        ("  TRAITÉ ", ImportStatus.DONE),
        (unicodedata.normalize("NFD", "Annulé"), ImportStatus.FAILED),
        ("ＥＲＲＥＵＲ", ImportStatus.FAILED),  # fullwidth, folded by NFKC
    ],
)
def test_french_status_labels_map_after_normalisation(label: str, expected: ImportStatus) -> None:
    assert status_of(label) is expected


@pytest.mark.parametrize("label", ["Archivé", None])
def test_unknown_or_missing_label_keeps_polling_and_warns(
    label: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="connectors.rakuten"):
        assert status_of(label) is ImportStatus.PENDING
    assert "unknown Rakuten import status label" in caplog.text


def _product(sku: str | None, code: str) -> str:
    reference = "" if sku is None else f"<sku><![CDATA[{sku}]]></sku>"
    return f"<product>{reference}<errors><error><error_code>{code}</error_code></error></errors></product>"


def test_a_report_line_that_cannot_be_read_is_reported_and_the_other_lines_are_kept(
    caplog: pytest.LogCaptureFixture,
) -> None:
    first = parse_report_page(
        (
            "<r><response><file><status>Traité</status><totallines>5</totallines></file>"
            + _product("A", "1") + _product(None, "2") + _product("C", "3")
            + "<nexttoken>n</nexttoken></response></r>"
        ).encode()
    )
    second = parse_report_page(
        ("<r><response>" + _product("D", "4") + _product("X" * 101, "5") + "</response></r>").encode()
    )
    with caplog.at_level(logging.WARNING, logger="connectors.rakuten"):
        report = build_report("7", [first, second])

    assert [(e.sku, e.error_code) for e in report.errors] == [("A", "1"), ("C", "3"), ("D", "4")]
    assert report.unreadable == (
        ReportLineFailure(2, None, "sku", "missing"),
        ReportLineFailure(5, None, "sku", "longer than 100 characters"),
    )
    assert "product line 2 skipped, sku: missing" in caplog.text


def test_a_line_that_went_through_needs_no_sku() -> None:
    page = parse_report_page(
        b"<r><response><file><status>Trait\xc3\xa9</status></file><product><errors/></product>"
        b"<product><status>Trait\xc3\xa9</status></product></response></r>"
    )
    report = build_report("8", [page])
    assert report.errors == () and report.unreadable == ()
