"""The answers served by injected faults (all but `hang`, which only delays the real answer)."""

from __future__ import annotations

from collections.abc import Iterator

from connectors.rakuten.sandbox import ws_errors
from connectors.rakuten.sandbox.model import Fault
from connectors.rakuten.sandbox.reply import Reply, text_reply
from connectors.rakuten.sandbox.xml_out import CONTENT_TYPE, PROLOG, error_document

CHUNK_BYTES = 64 * 1024  #: bytes per write of a streamed huge body

BILLION_LAUGHS = b"""<?xml version="1.0" encoding="ISO-8859-1"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<getnewsalesresult><request><version>2017-08-07</version><user>&lol9;</user></request>
<response><lastversion>2017-08-07</lastversion><sellerid>1</sellerid><sales/></response>
</getnewsalesresult>
"""


def _truncated(action: str) -> bytes:
    """Return the start of a plausible answer, cut mid-element (no side effect was applied)."""
    root = f"{action}result" if action.startswith("get") else "importresult"
    return (
        f'{PROLOG}<{root} xmlns="http://pmcdn.priceminister.com/res/schema/{action}">\n'
        "<request>\n<version>2017-08-07</version>\n<user><![CDATA[vendeur]]></user>\n"
        "</request>\n<response>\n<lastversion>2017-08-07</lastvers"
    ).encode("ascii")


def _huge_body(total: int) -> Iterator[bytes]:
    """Yield a well-formed document of exactly `total` bytes (at least a few hundred)."""
    head = f"{PROLOG}<getnewsalesresult>\n<response>\n".encode("ascii")
    tail = b"</response>\n</getnewsalesresult>\n"
    yield head
    padding = max(total - len(head) - len(tail), 0)
    filler = b"<pad>" + b"x" * (CHUNK_BYTES - 12) + b"</pad>\n"
    while padding >= len(filler):
        yield filler
        padding -= len(filler)
    yield b" " * padding
    yield tail


def fault_reply(fault: Fault, action: str, *, error_status: int) -> Reply:
    """Return the answer a fault serves instead of the real one."""
    kind = f"fault:{fault.kind}"
    if fault.kind == "http500":
        reply = text_reply("Internal Server Error", fault.status or 500)
        return Reply(reply.status, reply.content_type, reply.body, error_code=kind)
    if fault.kind == "quota":
        body = error_document(ws_errors.quota_exceeded())
        return Reply(fault.status or error_status, CONTENT_TYPE, body, error_code=kind)
    if fault.kind == "malformed":
        return Reply(fault.status or 200, CONTENT_TYPE, _truncated(action), error_code=kind)
    if fault.kind == "billion_laughs":
        return Reply(fault.status or 200, CONTENT_TYPE, BILLION_LAUGHS, error_code=kind)
    if fault.kind == "huge":
        total = max(int(fault.size_mb * 1024 * 1024), 256)
        stream = _huge_body(total)
        return Reply(fault.status or 200, CONTENT_TYPE, stream=stream, length=total, error_code=kind)
    return Reply(fault.status or 200, fault.content_type, fault.body, error_code=kind)
