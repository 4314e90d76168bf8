"""Read a genericimportfile upload: the multipart body, then the stock XML inside it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from connectors.rakuten.sandbox.model import StockLine

_PARAM = re.compile(r';\s*([A-Za-z_-]+)\s*=\s*(?:"([^"]*)"|([^;\s]*))')


@dataclass(frozen=True)
class FormPart:
    """One multipart/form-data part."""

    name: str
    filename: str | None
    content: bytes


def _params(header_value: str) -> dict[str, str]:
    """Return the key=value parameters of a header such as Content-Disposition."""
    return {m.group(1).lower(): m.group(2) or m.group(3) or "" for m in _PARAM.finditer(header_value)}


def _part(raw: bytes) -> FormPart | None:
    """Parse one part (headers, blank line, content); None when it has no name."""
    head, sep, content = raw.partition(b"\r\n\r\n")
    if not sep:
        return None
    disposition = ""
    for line in head.decode("latin-1").split("\r\n"):
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-disposition":
            disposition = value
    params = _params(disposition)
    if "name" not in params:
        return None
    return FormPart(params["name"], params.get("filename"), content)


def parse_multipart(content_type: str, body: bytes) -> list[FormPart]:
    """Split a multipart/form-data body into its parts; [] when it is not one."""
    if not content_type.lower().startswith("multipart/form-data"):
        return []
    boundary = _params(content_type).get("boundary")
    if not boundary:
        return []
    parts: list[FormPart] = []
    for chunk in body.split(b"--" + boundary.encode("latin-1"))[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk.removeprefix(b"\r\n").removesuffix(b"\r\n")
        part = _part(chunk)
        if part is not None:
            parts.append(part)
    return parts


def _local(tag: str) -> str:
    """Return an element name without its namespace."""
    return tag.rsplit("}", 1)[-1]


def _advert_line(advert: Element) -> StockLine | None:
    """Read sellerReference and qty from an <advert>; None when it names no SKU."""
    values: dict[str, str] = {}
    for attribute in advert:
        if _local(attribute.tag) != "attribute":
            continue
        key = value = ""
        for child in attribute:
            if _local(child.tag) == "key":
                key = (child.text or "").strip()
            elif _local(child.tag) == "value":
                value = (child.text or "").strip()
        values[key] = value
    sku = values.get("sellerReference", "")
    if not sku:
        return None
    qty_text = values.get("qty", "")
    qty = int(qty_text) if qty_text.isdigit() else None
    return StockLine(sku, qty)


def parse_stock_file(content: bytes) -> list[StockLine]:
    """Return the file's lines in order, duplicates kept; [] when the XML is unusable."""
    try:
        root = SafeET.fromstring(content)
    except (ParseError, DefusedXmlException, ValueError):
        return []
    lines: list[StockLine] = []
    for element in root.iter():
        if _local(element.tag) == "advert":
            line = _advert_line(element)
            if line is not None:
                lines.append(line)
    return lines
