"""Build the file of ``importitemshippingstatus``: shipping status for several items at once.

The format is rakuten-api.md §8b: ``items/item{purchaseid, itemid, transporter,
trackingnumber, trackingurl}``, posted as the multipart part ``file``. Absent values are
sent as empty elements, as the peers do for shipping without tracking. UTF-8 without BOM,
like the stock files.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from xml.sax.saxutils import escape

from .lifecycle_models import ShipmentLine

__all__ = ["build_shipping_status_file"]

# Characters that cannot stand in a one-line XML value: controls (CR, LF and TAB too,
# they would be normalised away) and what XML 1.0 cannot carry at all.
_NOT_LINE_CHAR = re.compile("[^\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _value(name: str, value: str | None, *, required: bool) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValueError(f"shipping line without {name}")
    if _NOT_LINE_CHAR.search(text):
        raise ValueError(f"shipping line {name} holds a character that cannot be sent")
    return f"<{name}>{escape(text)}</{name}>"


def _item(line: ShipmentLine) -> str:
    return (
        "<item>"
        + _value("purchaseid", line.purchase_id, required=True)
        + _value("itemid", line.item_id, required=True)
        + _value("transporter", line.transporter_name, required=True)
        + _value("trackingnumber", line.tracking_number, required=False)
        + _value("trackingurl", line.tracking_url, required=False)
        + "</item>\n"
    )


def build_shipping_status_file(lines: Sequence[ShipmentLine]) -> bytes:
    """Return the importitemshippingstatus XML for these lines, in order.

    Raises:
        ValueError: no line, an item twice, or a line without purchase id, item id or
            transporter, or with a value holding control characters.
    """
    if not lines:
        raise ValueError("a shipping file needs at least one line")
    item_ids = [line.item_id.strip() for line in lines]
    if len(set(item_ids)) != len(item_ids):
        raise ValueError("a shipping file names an item twice")
    body = "".join(_item(line) for line in lines)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<items>\n{body}</items>\n'.encode()
