"""Parsing the answers of the calls after the import: the public samples, Rakuten's refusal
texts, the per-article notes of a shipping file, and building that file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
import pytest

from connectors.rakuten import (
    RakutenResponseInvalid,
    ShipmentLine,
    ShipmentOutcome,
    TodoCause,
    TodoItem,
    build_shipping_status_file,
    parse_todo_list,
)
from connectors.rakuten.parse import load_response
from connectors.rakuten.parse_lifecycle import (
    Kind,
    cancellation_from_root,
    kind_of,
    refusal_from_root,
    tracking_status,
)
from connectors.rakuten.parse_shipping import (
    article_notes,
    shipping_import_from_notes,
    shipping_import_status,
)

FIXTURES = Path(__file__).parent / "fixtures" / "rakuten"


def sample(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def status_body(root: str, status: str) -> bytes:
    return f"<{root}><response><status>{status}</status></response></{root}>".encode()


def test_the_tracking_sample_with_its_odd_root_name_reads_as_ok() -> None:
    root = load_response(sample("sample_settrackingpackageinfos.xml"))
    assert tracking_status(root) == "OK"


def test_the_shipping_import_sample_reads_as_ok_without_notes() -> None:
    status, texts = shipping_import_status(load_response(sample("sample_importitemshippingstatus.xml")))
    assert status == "OK" and article_notes(texts) == {}


def test_the_cancelitem_sample_reads_as_a_cancellation() -> None:
    result = cancellation_from_root("1510361129", load_response(sample("sample_cancelitem.xml")))
    assert result.item_id == "1510361129"


def test_the_todo_sample_gives_the_item_and_its_three_causes() -> None:
    assert parse_todo_list(sample("sample_getitemtodolist.xml")) == [
        TodoItem("159177464", frozenset(TodoCause), None)
    ]


def test_todo_items_without_an_id_are_skipped_and_repeated_ones_merged() -> None:
    body = (
        b"<getitemtodolistresult><response><items>"
        b"<item><causes><cause>CLAIM</cause></causes></item>"
        b"<item><itemid> 7 </itemid><causes><cause><![CDATA[ claim ]]></cause></causes></item>"
        b"<item><itemid>8</itemid><causes/></item>"
        b"<item><itemid>7</itemid><purchaseid>70</purchaseid><causes>"
        b"<cause>UNREAD_MESSAGE_FROM_BUYER</cause><cause>NEW_CAUSE</cause></causes></item>"
        b"</items></response></getitemtodolistresult>"
    )
    assert parse_todo_list(body) == [
        TodoItem("7", frozenset({"CLAIM", "UNREAD_MESSAGE_FROM_BUYER", "NEW_CAUSE"}), "70"),
        TodoItem("8", frozenset(), None),
    ]


def test_an_empty_todo_list_is_no_item() -> None:
    body = b"<getitemtodolistresult><response><sellerid>1</sellerid><items/></response>"
    body += b"</getitemtodolistresult>"
    assert parse_todo_list(body) == []


@pytest.mark.parametrize(
    ("read", "root", "status"),
    [
        (lambda r: tracking_status(r), "setshippingpackageinfosresult", "KO"),
        (lambda r: refusal_from_root("1", r), "salerefusalresult", "Accepted"),
        (lambda r: cancellation_from_root("1", r), "cancelitemresult", "PENDING"),
    ],
)
def test_a_success_root_with_an_unexpected_status_is_invalid(
    read: Callable[[Element], object], root: str, status: str
) -> None:
    with pytest.raises(RakutenResponseInvalid, match="status"):
        read(load_response(status_body(root, status)))


def test_statuses_are_compared_without_regard_to_case() -> None:
    assert refusal_from_root("5", load_response(status_body("r", "REFUSED"))).item_id == "5"
    assert tracking_status(load_response(status_body("r", " ok "))) == "ok"


@pytest.mark.parametrize(
    ("text", "kind", "current"),
    [
        ("Article 12 : a déjà été expédié", Kind.ALREADY_SHIPPED, None),
        ("ARTICLE 12 : A DEJA ETE EXPEDIE", Kind.ALREADY_SHIPPED, None),
        ("Article 12 : statut incorrect. L'ajout d'un numéro de suivi n'est possible que si le "
         "statut de votre article est 'confirmé'.", Kind.NOT_SHIPPABLE, None),
        ("Article 12 : numéro incorrect", Kind.UNKNOWN_ITEM, None),
        ("Problem with parameters. The parameter 'itemid' is invalid.", Kind.UNKNOWN_ITEM, None),
        ("The parameter itemID is invalid", Kind.UNKNOWN_ITEM, None),
        ("Current status : CAPTURED - Required status : REQUESTED", Kind.ALREADY_ACCEPTED, "CAPTURED"),
        ("Current status : EMPTIED - Required status : REQUESTED", Kind.NOT_CANCELLABLE, "EMPTIED"),
        ("Current status: ON_HOLD - Required status: REQUESTED", Kind.NOT_CANCELLABLE, "ON_HOLD"),
        ("Current status : REFUSED - Required status : REQUESTED", Kind.ALREADY_REFUSED, "REFUSED"),
        ("Current status : SOMETHING_NEW - Required status : X", Kind.WRONG_STATUS, "SOMETHING_NEW"),
        ("This item cannot be cancelled", Kind.NOT_CANCELLABLE, None),
        ("Your message cannot exceed 400 characters", Kind.OTHER, None),
        ("The parameter 'transporter_name' is invalid.", Kind.OTHER, None),
    ],
)
def test_rakuten_refusal_texts_are_classified_tolerantly(text: str, kind: Kind, current: str | None) -> None:
    assert kind_of(text)[:2] == (kind, current)


def test_article_notes_split_joined_details_by_item() -> None:
    joined = (
        "Article 1 : a déjà été expédié Article 22 : statut incorrect. ... si le statut de "
        "votre article est 'confirmé'. article 333: numéro incorrect"
    )
    notes = article_notes(["Problem with parameters.", joined])
    assert set(notes) == {"1", "22", "333"}
    assert notes["1"] == "a déjà été expédié"
    assert notes["22"].endswith("votre article est 'confirmé'.")
    assert notes["333"] == "numéro incorrect"


LINES = [ShipmentLine("10", str(n), "Colissimo") for n in (1, 2, 3, 4, 5)]


def test_a_refused_file_gives_named_lines_their_outcome_and_the_rest_not_confirmed() -> None:
    notes = {"1": "a déjà été expédié", "2": "statut incorrect", "3": "numéro incorrect", "4": "bizarre"}
    result = shipping_import_from_notes(LINES, notes, accepted=False)
    assert [(line.item_id, line.outcome) for line in result.lines] == [
        ("1", ShipmentOutcome.ALREADY_SHIPPED),
        ("2", ShipmentOutcome.NOT_SHIPPABLE),
        ("3", ShipmentOutcome.UNKNOWN_ITEM),
        ("4", ShipmentOutcome.REJECTED),
        ("5", ShipmentOutcome.NOT_CONFIRMED),
    ]
    assert [line.confirmed for line in result.lines] == [True, False, False, False, False]
    assert result.by_item["4"].detail == "bizarre"


def test_an_accepted_file_ships_every_line_it_names_nothing_about() -> None:
    result = shipping_import_from_notes(LINES[:2], {"2": "a déjà été expédié"}, accepted=True)
    assert [line.outcome for line in result.lines] == [
        ShipmentOutcome.SHIPPED, ShipmentOutcome.ALREADY_SHIPPED
    ]


def test_the_shipping_file_holds_every_line_with_empty_values_for_untracked_ones() -> None:
    content = build_shipping_status_file([
        ShipmentLine("10", "1", "Colissimo", "6A123", "https://suivi.example/?a=1&b=<2>"),
        ShipmentLine("10", "2", "Autre"),
    ])
    assert content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    items = SafeET.fromstring(content).findall("item")
    assert [[(c.tag, c.text or "") for c in item] for item in items] == [
        [("purchaseid", "10"), ("itemid", "1"), ("transporter", "Colissimo"),
         ("trackingnumber", "6A123"), ("trackingurl", "https://suivi.example/?a=1&b=<2>")],
        [("purchaseid", "10"), ("itemid", "2"), ("transporter", "Autre"),
         ("trackingnumber", ""), ("trackingurl", "")],
    ]


@pytest.mark.parametrize(
    "lines",
    [
        [],
        [ShipmentLine("10", "1", "DHL"), ShipmentLine("10", "1", "UPS")],
        [ShipmentLine("", "1", "DHL")],
        [ShipmentLine("10", " ", "DHL")],
        [ShipmentLine("10", "1", "")],
        [ShipmentLine("10", "1", "DHL", "12\n34")],
        [ShipmentLine("10", "1", "DHL", "12\x0034")],
    ],
)
def test_a_shipping_file_that_cannot_be_right_is_refused_before_sending(lines: list[ShipmentLine]) -> None:
    with pytest.raises(ValueError):
        build_shipping_status_file(lines)
