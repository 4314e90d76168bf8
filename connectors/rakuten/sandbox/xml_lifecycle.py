"""Answers of the calls after an order's import, in the shape of shiba's samples (rakuten-api.md §8b).

The refusesale root is not in any sample: it is named after acceptsale's
``saleacceptanceresult``, a guess; its ``response/status`` is the documented part.
"""

from __future__ import annotations

from collections.abc import Sequence

from connectors.rakuten.sandbox.xml_out import (
    PROLOG,
    RAKUTEN_SCHEMA,
    cdata,
    encode,
    open_root,
    request_echo,
    text,
)

PM_WWW_SCHEMA = "http://www.priceminister.com/res/schema"


def _response(last_version: str, status: str) -> str:
    """Return the <response> of a call whose answer is a status."""
    return (
        f"<response>\n<lastversion>{last_version}</lastversion>\n"
        f"<status>{text(status)}</status>\n</response>\n"
    )


def tracking_document(
    version: str, user: str, echo: dict[str, str], *, last_version: str
) -> bytes:
    """Return settrackingpackageinfos' answer: root setshippingpackageinfosresult, status OK."""
    schema = "settrackingpackageinfos"
    return encode(
        PROLOG
        + open_root("setshippingpackageinfosresult", schema, f"{schema}.{version}.xsd")
        + request_echo(version, user, echo)
        + _response(last_version, "OK")
        + "</setshippingpackageinfosresult>"
    )


def shipping_import_document(version: str, user: str, *, last_version: str) -> bytes:
    """Return importitemshippingstatus' answer: importresult with status OK and no import id."""
    namespace = f"{RAKUTEN_SCHEMA}/importitemshippingstatus"
    return encode(
        PROLOG
        + f'<importresult xmlns="{namespace}">\n'
        + request_echo(version, user)
        + _response(last_version, "OK")
        + "</importresult>"
    )


def refusal_document(version: str, user: str, item_id: str, *, last_version: str) -> bytes:
    """Return refusesale's answer, status Refused."""
    return encode(
        PROLOG
        + open_root("salerefusalresult", "refusesale", f"refuse_sale.{version}.xsd", base=RAKUTEN_SCHEMA)
        + request_echo(version, user, {"itemid": item_id})
        + _response(last_version, "Refused")
        + "</salerefusalresult>"
    )


def cancellation_document(
    version: str, user: str, item_id: str, comment: str, *, last_version: str
) -> bytes:
    """Return cancelitem's answer, status CANCELLED, echoing the comment (sample_cancelitem.xml)."""
    echo = request_echo(version, user, {"itemid": item_id})
    echo = echo.replace("</request>", f"<comment>{cdata(comment)}</comment>\n</request>")
    return encode(
        PROLOG
        + open_root("cancelitemresult", "cancelitem", f"cancelitem.{version}.xsd", base=PM_WWW_SCHEMA)
        + echo
        + _response(last_version, "CANCELLED")
        + "</cancelitemresult>"
    )


def todo_document(
    version: str,
    user: str,
    seller_id: str,
    items: Sequence[tuple[str, Sequence[str]]],
    *,
    last_version: str,
) -> bytes:
    """Return getitemtodolist's answer; like shiba's sample it has no namespace."""
    listed = "".join(
        f"<item>\n<itemid>{text(item_id)}</itemid>\n<causes>\n"
        + "".join(f"<cause>{text(cause)}</cause>\n" for cause in causes)
        + "</causes>\n</item>\n"
        for item_id, causes in items
    )
    return encode(
        PROLOG
        + "<getitemtodolistresult>\n"
        + request_echo(version, user)
        + f"<response>\n<lastversion>{last_version}</lastversion>\n"
        + f"<sellerid>{text(seller_id)}</sellerid>\n<items>\n{listed}</items>\n</response>\n"
        + "</getitemtodolistresult>"
    )
