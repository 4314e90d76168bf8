"""Building genericimportfile stock files: format, escaping, splitting, validation."""

from __future__ import annotations

import defusedxml.ElementTree as SafeET
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.rakuten import DEFAULT_MAX_FILE_BYTES, build_stock_files


def read_back(document: bytes) -> list[tuple[str, int]]:
    """Parse a stock file the way Rakuten would and return its (sellerReference, qty) pairs."""
    root = SafeET.fromstring(document)
    assert root.tag == "items"
    pairs = []
    for advert in root.iterfind("item/attributes/advert"):
        values = {a.findtext("key"): a.findtext("value") for a in advert.iterfind("attribute")}
        assert set(values) == {"sellerReference", "qty"}
        pairs.append((values["sellerReference"], int(values["qty"] or "")))
    return pairs


def test_empty_input_gives_no_file() -> None:
    assert build_stock_files([]) == []


def test_file_is_utf8_without_bom_with_prolog_and_the_documented_tree() -> None:
    (document,) = build_stock_files([("MY-SKU-1", 7)])
    assert document.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert b"<attribute><key>sellerReference</key><value><![CDATA[MY-SKU-1]]></value>" in document
    assert b"<attribute><key>qty</key><value>7</value></attribute>" in document
    assert read_back(document) == [("MY-SKU-1", 7)]


@pytest.mark.parametrize(
    "sku",
    [
        "A&B",
        "<tag>",
        "a]]>b",
        "]]>",
        "x]]]]>>y",
        "cr\r\nlf\t",
        "say \"hi\" 'there'",
        "Hélène Lefèvre €",
        "  spaced  ",
    ],
)
def test_awkward_skus_round_trip_exactly(sku: str) -> None:
    (document,) = build_stock_files([(sku, 3)])
    assert read_back(document) == [(sku, 3)]


@pytest.mark.parametrize(
    "line",
    [("SKU", -1), ("", 1), ("   ", 1), ("bad\x00sku", 1), ("lone\ud800", 1), ("SKU", 1.5), ("S", True)],
)
def test_invalid_lines_are_refused(line: tuple[str, int]) -> None:
    with pytest.raises(ValueError):
        build_stock_files([line])


def test_lines_are_split_into_files_under_the_size_limit_keeping_order() -> None:
    lines = [(f"SKU-{n:05d}", n) for n in range(500)]
    documents = build_stock_files(lines, max_bytes=4_000)
    assert len(documents) > 1
    assert all(len(d) <= 4_000 for d in documents)
    assert [pair for d in documents for pair in read_back(d)] == lines


def test_a_line_that_cannot_fit_in_a_file_is_refused() -> None:
    with pytest.raises(ValueError):
        build_stock_files([("S" * 500, 1)], max_bytes=400)


def test_default_limit_is_well_under_rakutens_30_mb() -> None:
    assert DEFAULT_MAX_FILE_BYTES == 4 * 1024 * 1024
    assert len(build_stock_files([(f"S{n}", 1) for n in range(20_000)])) == 1


XML_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\ufffe\uffff"),
    min_size=1,
    max_size=30,
).filter(lambda s: s.strip() != "" and all(c >= " " or c in "\t\n\r" for c in s))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(XML_TEXT, st.integers(0, 10**9)), max_size=30), st.integers(400, 3000))
def test_any_valid_lines_round_trip_through_size_bounded_files(
    lines: list[tuple[str, int]], max_bytes: int
) -> None:
    documents = build_stock_files(lines, max_bytes=max_bytes)
    assert all(len(d) <= max_bytes for d in documents)
    assert [pair for d in documents for pair in read_back(d)] == lines
