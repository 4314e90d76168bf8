"""Hardened XML reading: hostile documents, encodings, whitespace, arbitrary bytes."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.rakuten import (
    Credentials,
    RakutenClient,
    RakutenResponseInvalid,
    parse_report_page,
    parse_sales,
)
from connectors.rakuten.sales_stream import SalesReader
from connectors.rakuten.xml import XmlStream, child, parse_xml, text_of, texts

FIXTURES = Path(__file__).parent / "fixtures" / "rakuten"

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<getnewsalesresult><response><sellerid>&lol9;</sellerid></response></getnewsalesresult>"""

XXE = b"""<?xml version="1.0" encoding="ISO-8859-1"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<getnewsalesresult><response><sellerid>&xxe;</sellerid></response></getnewsalesresult>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE r SYSTEM "http://attacker.invalid/evil.dtd">
<getnewsalesresult><response><sellerid>1</sellerid></response></getnewsalesresult>"""


@pytest.mark.parametrize("hostile", [BILLION_LAUGHS, XXE, EXTERNAL_DTD], ids=["laughs", "xxe", "dtd"])
def test_hostile_documents_are_refused_quickly_as_invalid(hostile: bytes) -> None:
    started = time.monotonic()
    with pytest.raises(RakutenResponseInvalid) as caught:
        parse_sales(hostile)
    assert time.monotonic() - started < 2.0
    assert "root:" not in str(caught.value)  # nothing of /etc/passwd leaked into the message


@pytest.mark.parametrize("hostile", [BILLION_LAUGHS, XXE, EXTERNAL_DTD], ids=["laughs", "xxe", "dtd"])
@pytest.mark.parametrize("size", [1, 16, 1 << 20])
def test_hostile_documents_are_refused_at_their_dtd_whatever_the_chunks(hostile: bytes, size: int) -> None:
    reader = SalesReader()
    with pytest.raises(RakutenResponseInvalid, match="refused hostile XML: a DTD"):
        for start in range(0, len(hostile), size):
            reader.feed(hostile[start : start + size])
        reader.close()


@pytest.mark.parametrize("hostile", [BILLION_LAUGHS, XXE, EXTERNAL_DTD], ids=["laughs", "xxe", "dtd"])
def test_hostile_answers_are_refused_by_the_streaming_client(hostile: bytes) -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(200, content=hostile))
    with RakutenClient(base_url="https://ws.example.test", transport=transport) as client:
        with pytest.raises(RakutenResponseInvalid, match="hostile"):
            client.get_new_sales(Credentials("shop", "tok")).read()
        with pytest.raises(RakutenResponseInvalid, match="hostile"):
            client.check_credentials(Credentials("shop", "tok"))


def test_a_document_of_endless_distinct_names_is_refused() -> None:
    body = b"<r>" + b"".join(b"<n%d/>" % n for n in range(20_000)) + b"</r>"
    with pytest.raises(RakutenResponseInvalid, match="distinct names"):
        parse_xml(body)


def test_prolog_encoding_decides_how_bytes_are_read() -> None:
    latin1 = '<?xml version="1.0" encoding="ISO-8859-1"?><a><b>Hélène</b></a>'.encode("latin-1")
    cp1252 = '<?xml version="1.0" encoding="windows-1252"?><a><b>l’été €</b></a>'.encode("cp1252")
    utf8 = '<?xml version="1.0" encoding="UTF-8"?><a><b>Lefèvre</b></a>'.encode()
    assert text_of(parse_xml(latin1), "b") == "Hélène"
    assert text_of(parse_xml(cp1252), "b") == "l’été €"
    assert text_of(parse_xml(utf8), "b") == "Lefèvre"


def test_blank_lines_and_a_bom_before_the_declaration_are_tolerated() -> None:
    body = b"\xef\xbb\xbf\r\n\n   \t" + b'<?xml version="1.0" encoding="UTF-8"?><a><b>1</b></a>'
    assert text_of(parse_xml(body), "b") == "1"


def test_a_bom_and_blank_lines_split_over_chunks_are_tolerated_too() -> None:
    stream = XmlStream()
    for piece in (b"\xef", b"\xbb", b"\xbf\r\n", b"  ", b'<?xml version="1.0"?><a>', b"<b>1</b></a>"):
        stream.feed(piece)
    stream.close()
    assert text_of(stream.root, "b") == "1"


def test_comments_and_processing_instructions_are_not_part_of_the_text() -> None:
    root = parse_xml(b"<a><b>1<!-- note --><?pi x?>2</b><!-- c --><c/></a>")
    assert text_of(root, "b") == "12" and [child.tag for child in root] == ["b", "c"]


def test_lookups_match_local_names_in_any_namespace() -> None:
    root = parse_xml(b'<r xmlns="urn:x" xmlns:p="urn:y"><p:response><v>  2 </v></p:response></r>')
    assert text_of(root, "response/v") == "2"
    assert child(root, "response/missing") is None
    assert texts(child(root, "response"), "missing", "v") == "2"


@pytest.mark.parametrize(
    "body",
    [b"", b"   \n", b"not xml", b"<a><b></a>", b'<?xml version="1.0" encoding="nope"?><a/>',
     b"<a>&#1;</a>", b'<?xml version="1.0" encoding="UTF-16"?><a/>'],
)
def test_unreadable_bodies_are_invalid_responses(body: bytes) -> None:
    with pytest.raises(RakutenResponseInvalid):
        parse_xml(body)


def _mutations(sample: bytes) -> st.SearchStrategy[bytes]:
    def mutate(args: tuple[int, int, bytes]) -> bytes:
        start, length, junk = args
        start %= len(sample)
        return sample[:start] + junk + sample[start + length :]

    return st.tuples(st.integers(0, 10_000), st.integers(0, 40), st.binary(max_size=40)).map(
        mutate
    )


SAMPLE = (FIXTURES / "sample_getcurrentsales.xml").read_bytes()
REPORT = (
    b"<r><response><file><status>Trait\xc3\xa9</status><totallines>2</totallines></file>"
    b"<product><sku>A</sku><errors><error><error_code>60</error_code></error></errors>"
    b"</product><nexttoken>x</nexttoken></response></r>"
)
ANY_BODY = st.one_of(st.binary(max_size=400), _mutations(SAMPLE), _mutations(REPORT))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ANY_BODY)
def test_arbitrary_bytes_give_a_result_or_an_invalid_response_never_another_error(
    body: bytes,
) -> None:
    for parser in (parse_sales, parse_report_page):
        try:
            parser(body)
        except RakutenResponseInvalid:
            pass
