"""Hardened, incremental, namespace-agnostic reading of Rakuten's XML responses.

Rakuten's XML is untidy (rakuten-api.md §1, §8a): ISO-8859-1 or windows-1252 prologs,
blank lines before the root, namespaces that vary between releases, CDATA on its own
indented line, empty values written three ways. This module absorbs all of that so the
parsers only deal with local names and stripped, possibly ``None``, text.

The parse drives expat straight into the C ``TreeBuilder``: no Python code runs per
element (defusedxml's pure-Python callbacks were most of the cost of an import). A
DTD is refused the moment it starts, so entity declarations (billion laughs) and
external references (XXE) never get a chance; parameter entities are never parsed.
Expat is created without namespace processing, so a document in a default namespace,
the only kind Rakuten sends, has local names as tags and every lookup is a C
``find``. Prefixed tags (``p:sale``) are renamed to their local name as records are
handed out, and only in a document where such names occur.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any
from xml.etree.ElementTree import Element, TreeBuilder
from xml.parsers import expat

from .errors import RakutenResponseInvalid

__all__ = [
    "Element",
    "Unreadable",
    "XmlStream",
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
_BLANK = b" \t\r\n"
#: distinct element and attribute names in one document; Rakuten's use about a hundred
MAX_NAMES = 10_000


class Unreadable(Exception):
    """Raised inside the parsers when one field of one record cannot be read.

    It never leaves the package: the record becomes a failure naming ``field`` and
    ``reason`` (short texts without the value, which may be a buyer's data) and the
    other records of the answer are kept.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class _Refused(Exception):
    """Raised from expat's handlers when the document declares what we never accept."""


def _refuse(what: str) -> Callable[..., Any]:
    def handler(*_args: object) -> None:
        raise _Refused(what)

    return handler


class XmlStream:
    """Parse one document from successive byte chunks, handing out finished records.

    ``records_at`` is the path of local names, below the root, of the element whose
    children are records (``("response", "sales")``): each record is returned by the
    ``feed`` call after which it is known to be complete and detached from the tree, so
    the tree never holds more than the records of one chunk. With an empty path nothing
    is detached and :meth:`close` returns the whole tree.
    """

    def __init__(self, records_at: Sequence[str] = ()) -> None:
        self._path = tuple(records_at)
        self._builder = TreeBuilder()
        self._names: dict[str, str] = {}
        self._checked_names = 0
        self._root_attributes: frozenset[str] = frozenset()
        self._prefixed = False
        self._begun = False
        self._head = b""
        self.root: Element | None = None
        self.container: Element | None = None
        parser = expat.ParserCreate(intern=self._names)
        parser.buffer_text = True
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = _refuse("a DTD")
        parser.EntityDeclHandler = _refuse("an entity declaration")
        parser.ExternalEntityRefHandler = _refuse("an external entity")
        parser.StartElementHandler = self._start_root
        parser.EndElementHandler = self._builder.end
        parser.CharacterDataHandler = self._builder.data
        self._parser = parser

    def _start_root(self, tag: str, attributes: dict[str, str]) -> None:
        # The one Python call of the parse: keep the root, then let expat call C only.
        self.root = self._builder.start(tag, attributes)
        self._root_attributes = frozenset(attributes)
        self._parser.StartElementHandler = self._builder.start

    def feed(self, data: bytes) -> list[Element]:
        """Parse one more chunk; return the records it completed (maybe none).

        Raises:
            RakutenResponseInvalid: the bytes so far are malformed or hostile.
        """
        data = self._skip_head(data)
        if data:
            self._parse(data.translate(None, _ILLEGAL_CONTROL_BYTES), final=False)
        return self._take(final=False)

    def close(self) -> list[Element]:
        """End the document; return its last records. The root is then ``self.root``.

        Raises:
            RakutenResponseInvalid: the document is empty, incomplete, malformed or hostile.
        """
        if not self._begun:
            raise RakutenResponseInvalid("empty response body")
        self._parse(b"", final=True)
        records = self._take(final=True)
        if self._prefixed and self.root is not None:
            _rename_prefixed(self.root)
        return records

    def _skip_head(self, data: bytes) -> bytes:
        # An XML declaration must come first, yet Rakuten sends blank lines (and some
        # servers a BOM) before it; they may arrive split over several chunks.
        if self._begun:
            return data
        head = self._head + data
        if len(head) < len(_UTF8_BOM) and _UTF8_BOM.startswith(head):
            self._head = head
            return b""
        self._head = b""
        if head.startswith(_UTF8_BOM):
            head = head[len(_UTF8_BOM) :]
        head = head.lstrip(_BLANK)
        self._begun = bool(head)
        return head

    def _parse(self, data: bytes, *, final: bool) -> None:
        try:
            self._parser.Parse(data, final)
        except _Refused as exc:
            raise RakutenResponseInvalid(f"refused hostile XML: {exc} is not accepted") from None
        except expat.ExpatError as exc:
            raise RakutenResponseInvalid(f"malformed XML: {exc}") from None
        except (LookupError, ValueError) as exc:  # an unknown or broken declared encoding
            raise RakutenResponseInvalid(f"unreadable XML: {type(exc).__name__}") from None
        if len(self._names) != self._checked_names:
            self._check_new_names()

    def _check_new_names(self) -> None:
        # Expat interns every element and attribute name it meets: a name with a prefix
        # that is not one of the root's attributes may be a prefixed tag.
        if len(self._names) > MAX_NAMES:
            raise RakutenResponseInvalid(f"XML with over {MAX_NAMES} distinct names")
        if not self._prefixed:
            new = itertools.islice(self._names, self._checked_names, None)
            self._prefixed = any(":" in n and n not in self._root_attributes for n in new)
        self._checked_names = len(self._names)

    def _take(self, *, final: bool) -> list[Element]:
        container = self._find_container()
        if container is None:
            return []
        # The builder appends an element to its parent when it starts, so every child
        # but the last is complete; the last one is complete once the document is.
        count = len(container) if final else len(container) - 1
        if count <= 0:
            return []
        records = container[:count]
        del container[:count]
        if self._prefixed:
            for record in records:
                _rename_prefixed(record)
        return records

    def _find_container(self) -> Element | None:
        if self.container is None and self._path and self.root is not None:
            found = self.root
            for name in self._path:  # a few header elements: compare local names
                below = next((c for c in found if local_name(c) == name), None)
                if below is None:
                    return None
                found = below
            self.container = found
        return self.container


def _rename_prefixed(element: Element) -> None:
    for node in element.iter():
        if ":" in node.tag:
            node.tag = node.tag.rpartition(":")[2]


def parse_xml(body: bytes) -> Element:
    """Parse a whole response body (bytes; the prolog decides the encoding) into its root.

    Raises:
        RakutenResponseInvalid: the body is empty, malformed or hostile.
    """
    stream = XmlStream()
    stream.feed(body)
    stream.close()
    if stream.root is None:
        raise RakutenResponseInvalid("XML without a root element")
    return stream.root


def local_name(element: Element) -> str:
    """Return the element's tag without a ``{namespace}`` or ``prefix:`` part."""
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2].rpartition(":")[2]


def children(element: Element | None, name: str) -> list[Element]:
    """Return the direct children with this local name (any namespace)."""
    if element is None:
        return []
    return element.findall(name)


def child(element: Element | None, path: str) -> Element | None:
    """Return the first element matching a ``/``-separated path of local names, or ``None``."""
    if element is None:
        return None
    if "/" not in path:
        return element.find(path)
    current: Element | None = element
    for name in path.split("/"):
        if current is None:
            return None
        current = current.find(name)
    return current


def text_of(element: Element | None, path: str | None = None) -> str | None:
    """Return the stripped text at ``path`` (or of the element itself); empty means ``None``.

    ``<x/>``, ``<x></x>``, ``<x><![CDATA[]]></x>`` and whitespace-only text are all empty.
    The text is the element's own (the builder joins its CDATA and plain text pieces);
    Rakuten's values are leaves.
    """
    if element is None:
        return None
    if path is None:
        value = element.text
    elif "/" not in path:
        value = element.findtext(path)  # one C call: no Element object reaches Python
    else:
        node = child(element, path)
        value = node.text if node is not None else None
    if not value:
        return None
    return value.strip() or None


def texts(element: Element | None, *paths: str) -> str | None:
    """Return the first non-empty text among several candidate paths (a fallback chain)."""
    for path in paths:
        value = text_of(element, path)
        if value is not None:
            return value
    return None
