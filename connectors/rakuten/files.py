"""Build genericimportfile stock files: one ``qty`` update per seller SKU.

The format is rakuten-api.md §4.1: ``items/item/attributes/advert`` with a
``sellerReference`` attribute naming the advert and a ``qty`` attribute setting its
quantity. Files are UTF-8 without BOM (DOC-XML allows UTF-8 or ISO-8859-1).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["DEFAULT_MAX_FILE_BYTES", "build_stock_files"]

#: bytes; Rakuten accepts up to 30 MB per file, smaller files are processed sooner.
DEFAULT_MAX_FILE_BYTES: int = 4 * 1024 * 1024

_HEAD = b'<?xml version="1.0" encoding="UTF-8"?>\n<items>\n'
_TAIL = b"</items>\n"
# Characters XML 1.0 cannot carry at all, even escaped.
_NOT_XML_CHAR = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _cdata(value: str) -> str:
    # "]]>" would end the section early: close it after "]]" and reopen before ">".
    # A CR inside CDATA would reach the reader as LF, so it goes out as a reference.
    escaped = value.replace("]]>", "]]]]><![CDATA[>").replace("\r", "]]>&#13;<![CDATA[")
    return "<![CDATA[" + escaped + "]]>"


def _item(sku: str, qty: int) -> bytes:
    if not isinstance(sku, str) or not sku.strip():
        raise ValueError(f"invalid SKU {sku!r}: a non-empty string is required")
    if _NOT_XML_CHAR.search(sku):
        raise ValueError(f"SKU {sku!r} holds a character XML cannot represent")
    if isinstance(qty, bool) or not isinstance(qty, int):
        raise ValueError(f"quantity for SKU {sku!r} must be an int, got {qty!r}")
    if qty < 0:
        raise ValueError(f"quantity for SKU {sku!r} is negative: {qty}")
    return (
        "<item><attributes><advert>"
        f"<attribute><key>sellerReference</key><value>{_cdata(sku)}</value></attribute>"
        f"<attribute><key>qty</key><value>{qty}</value></attribute>"
        "</advert></attributes></item>\n"
    ).encode()


def build_stock_files(
    lines: Iterable[tuple[str, int]], *, max_bytes: int = DEFAULT_MAX_FILE_BYTES
) -> list[bytes]:
    """Return genericimportfile XML documents setting each SKU's quantity, in input order.

    Lines are packed into as few files as possible, each at most ``max_bytes`` long.
    An empty input gives an empty list.

    Raises:
        ValueError: a SKU is empty or not representable in XML, a quantity is negative
            or not an int, or one line alone does not fit in ``max_bytes``.
    """
    overhead = len(_HEAD) + len(_TAIL)
    files: list[bytes] = []
    current: list[bytes] = []
    size = overhead
    for sku, qty in lines:
        item = _item(sku, qty)
        if overhead + len(item) > max_bytes:
            raise ValueError(f"SKU {sku[:80]!r} does not fit in a {max_bytes}-byte file")
        if size + len(item) > max_bytes:
            files.append(_HEAD + b"".join(current) + _TAIL)
            current, size = [], overhead
        current.append(item)
        size += len(item)
    if current:
        files.append(_HEAD + b"".join(current) + _TAIL)
    return files
