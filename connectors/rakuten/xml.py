"""Hardened, namespace-agnostic helpers to read Rakuten's XML responses.

Rakuten's XML is untidy (rakuten-api.md §1, §8a): ISO-8859-1 or windows-1252 prologs,
blank lines before the root, namespaces that vary between releases, CDATA on its own
indented line, empty values written three ways. These helpers absorb all of that so the
parsers only deal with local names and stripped, possibly ``None``, text.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from .errors import RakutenResponseInvalid

__all__ = [
    "Element",
    "child",
    "children",
    "local_name",
    "parse_xml",
    "text_of",
    "texts",
]

# XML 1.0 forbids C0 controls except TAB, LF and CR. In the single-byte encodings and
# UTF-8 that Rakuten uses these bytes can only be those characters, so deleting bytes is
# safe; RRC strips them too.
_ILLEGAL_CONTROL_BYTES = bytes(b for b in range(0x20) if b not in (0x09, 0x0A, 0x0D))
_UTF8_BOM = b"\xef\xbb\xbf"


def _clean(body: bytes) -> bytes:
    if body.startswith(_UTF8_BOM):
        body = body[len(_UTF8_BOM) :]
    # An XML declaration must come first, yet Rakuten sends blank lines before it.
    return body.lstrip(b" \t\r\n").translate(None, _ILLEGAL_CONTROL_BYTES)


def parse_xml(body: bytes) -> Element:
    """Parse a response body (bytes; the prolog decides the encoding) into its root element.

    Documents with a DTD, entity declarations or external references are refused
    before expansion, so billion-laughs and XXE payloads fail fast.

    Raises:
        RakutenResponseInvalid: the body is empty, malformed or hostile.
    """
    cleaned = _clean(body)
    if not cleaned:
        raise RakutenResponseInvalid("empty response body")
    try:
        root = SafeET.fromstring(cleaned, forbid_dtd=True, forbid_entities=True)
    except DefusedXmlException as exc:
        raise RakutenResponseInvalid(f"refused hostile XML: {type(exc).__name__}") from exc
    except ParseError as exc:
        raise RakutenResponseInvalid(f"malformed XML: {exc}") from exc
    except (LookupError, ValueError) as exc:  # unknown or broken declared encoding
        raise RakutenResponseInvalid(f"unreadable XML: {type(exc).__name__}") from exc
    if not isinstance(root, Element):
        raise RakutenResponseInvalid("XML without a root element")
    return root


def local_name(element: Element) -> str:
    """Return the element's tag without its ``{namespace}`` prefix."""
    tag = element.tag
    if not isinstance(tag, str):  # comments and processing instructions
        return ""
    return tag.rpartition("}")[2]


def children(element: Element | None, name: str) -> list[Element]:
    """Return the direct children with this local name (any namespace)."""
    if element is None:
        return []
    return [c for c in element if local_name(c) == name]


def child(element: Element | None, path: str) -> Element | None:
    """Return the first element matching a ``/``-separated path of local names, or ``None``."""
    current = element
    for name in path.split("/"):
        found = children(current, name)
        if not found:
            return None
        current = found[0]
    return current


def text_of(element: Element | None, path: str | None = None) -> str | None:
    """Return the stripped text at ``path`` (or of the element itself); empty means ``None``.

    ``<x/>``, ``<x></x>``, ``<x><![CDATA[]]></x>`` and whitespace-only text are all empty.
    """
    node = element if path is None else child(element, path)
    if node is None:
        return None
    value = "".join(node.itertext()).strip()
    return value or None


def texts(element: Element | None, *paths: str) -> str | None:
    """Return the first non-empty text among several candidate paths (a fallback chain)."""
    for path in paths:
        value = text_of(element, path)
        if value is not None:
            return value
    return None
