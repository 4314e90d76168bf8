"""Read an importitemshippingstatus upload: ``items/item{purchaseid, itemid, transporter,
trackingnumber, trackingurl}`` (rakuten-api.md §8b), namespace-agnostic, hostile XML refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from connectors.rakuten.sandbox import ws_errors

_FIELDS = ("purchaseid", "itemid", "transporter", "trackingnumber", "trackingurl")


@dataclass(frozen=True)
class ShippingLine:
    """One item of a shipping file; absent values are empty strings."""

    purchase_id: str
    item_id: str
    transporter: str
    tracking_number: str
    tracking_url: str


def _local(element: Element) -> str:
    """Return an element's tag without its namespace."""
    return str(element.tag).rsplit("}", 1)[-1]


def _line(item: Element) -> ShippingLine:
    """Read one <item>; every field is optional here, the rules come later."""
    values = {_local(child): "".join(child.itertext()).strip() for child in item}
    return ShippingLine(*(values.get(name, "") for name in _FIELDS))


def parse_shipping_file(content: bytes) -> list[ShippingLine]:
    """Return the lines of a shipping file, or raise the refusal of an unreadable file."""
    try:
        root = SafeET.fromstring(content.lstrip(), forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise ws_errors.unreadable_file() from exc
    items = [item for item in root if _local(item) == "item"]
    if _local(root) != "items" or not items:
        raise ws_errors.unreadable_file()
    return [_line(item) for item in items]
