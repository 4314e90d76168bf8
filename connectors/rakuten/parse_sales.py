"""Parse getnewsales and getcurrentsales responses into :class:`Sale` values.

The field set follows rakuten-api.md §3.1 and §8a. Every field is looked up by local
name and read tolerantly; only what identifies a sale or an item (ids, date, status,
price) is required. A sale whose required field cannot be read (or one of whose items
cannot) becomes a :class:`SaleFailure` naming the field, and the others are read on.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from .errors import RakutenResponseInvalid
from .models import Address, Money, PickupPoint, Sale, SaleFailure, SaleItem
from .xml import Element, Unreadable, child, children, text_of, texts

__all__ = ["MAX_ID_CHARS", "paris_to_utc", "parse_money", "read_sale", "sale_or_failure"]

PARIS = ZoneInfo("Europe/Paris")
# "dd/mm/yyyy-HH:MM" (CS, SH samples); seconds and a space separator are tolerated.
_DATE = re.compile(
    r"(\d{1,2})/(\d{1,2})/(\d{4})[-\sT]+(\d{1,2}):(\d{2})(?::(\d{2}))?", re.ASCII
)
_AMOUNT = re.compile(r"[-+]?\d{1,15}(?:\.\d{0,10})?", re.ASCII)
#: characters; a purchase or item id longer than this is refused (they key database rows)
MAX_ID_CHARS = 100
_TRUE = frozenset({"Y", "YES", "O", "OUI", "TRUE", "1"})


def paris_to_utc(value: str) -> datetime:
    """Convert Rakuten's Paris local ``dd/mm/yyyy-HH:MM`` into an aware UTC datetime.

    An ambiguous autumn time is read as its first occurrence (summer time, ``fold=0``);
    a nonexistent spring time is read with the winter offset, which moves it forward by
    the hour that was skipped (02:30 becomes 03:30 Paris time).

    Raises:
        RakutenResponseInvalid: the text is not such a date.
    """
    try:
        return _paris_to_utc(value)
    except Unreadable as exc:
        raise RakutenResponseInvalid(f"unreadable purchase date {value[:40]!r}") from exc


def _paris_to_utc(value: str) -> datetime:
    match = _DATE.fullmatch(value.strip())
    if match is None:
        raise Unreadable("purchasedate", "not a date")
    day, month, year, hour, minute, second = (int(g or 0) for g in match.groups())
    try:
        local = datetime(year, month, day, hour, minute, second, tzinfo=PARIS, fold=0)
        return local.astimezone(UTC)
    except (ValueError, OverflowError):
        raise Unreadable("purchasedate", "not a date") from None


def parse_money(element: Element | None, *, field: str) -> Money | None:
    """Read the ``amount``/``currency`` pair of ``field``; ``None`` when the amount is missing.

    Raises:
        Unreadable: the amount is not a finite decimal number (``field`` names it).
    """
    raw = text_of(element, "amount")
    if raw is None:
        return None
    normalised = raw.replace(" ", "").replace("\u00a0", "")
    if "," in normalised and "." not in normalised:
        normalised = normalised.replace(",", ".")
    # A plain decimal only: Decimal would also take "NaN", "Infinity" and "1e999999999".
    if _AMOUNT.fullmatch(normalised) is None:
        raise Unreadable(f"{field}/amount", "not a number")
    amount = Decimal(normalised)
    currency = (text_of(element, "currency") or "EUR").upper()
    return Money(amount=amount, currency=currency)


def _identifier(element: Element, name: str, field: str) -> str:
    value = text_of(element, name)
    if value is None:
        raise Unreadable(field, "missing")
    if len(value) > MAX_ID_CHARS:  # Rakuten's ids are a few digits; this is not one
        raise Unreadable(field, f"longer than {MAX_ID_CHARS} characters")
    return value


def _flag(element: Element, name: str) -> bool:
    return (text_of(element, name) or "").upper() in _TRUE


def _upper(value: str | None) -> str | None:
    return value.upper() if value is not None else None


def _country_code(element: Element) -> str | None:
    code = _upper(text_of(element, "countryalpha2"))
    return "FR" if code == "FX" else code


_EMPTY_ADDRESS = Address(None, None, None, None, None, None, None, None, None, None)
_EMPTY_POINT = PickupPoint(None, None, None, None, None, None, None)


def _address(element: Element | None) -> Address | None:
    if element is None:
        return None
    address = Address(
        civility=text_of(element, "civility"),
        first_name=text_of(element, "firstname"),
        last_name=text_of(element, "lastname"),
        line1=texts(element, "address1", "address"),
        line2=text_of(element, "address2"),
        zip_code=text_of(element, "zipcode"),
        city=text_of(element, "city"),
        country=text_of(element, "country"),
        country_code=_country_code(element),
        phone=texts(element, "phonenumber1", "phonenumber2"),
        state=text_of(element, "state"),
    )
    return None if address == _EMPTY_ADDRESS else address


def _pickup_point(element: Element | None) -> PickupPoint | None:
    if element is None:
        return None
    point = PickupPoint(
        id=text_of(element, "id"),
        name=text_of(element, "name"),
        line1=texts(element, "address", "address1"),
        line2=text_of(element, "address2"),
        zip_code=text_of(element, "zipcode"),
        city=text_of(element, "city"),
        country_code=_country_code(element),
        civility=text_of(element, "civility"),
        first_name=text_of(element, "firstname"),
        last_name=text_of(element, "lastname"),
        country=text_of(element, "country"),
    )
    return None if point == _EMPTY_POINT else point


def _item(element: Element, position: int) -> SaleItem:
    where = f"items/item[{position}]"
    item_id = _identifier(element, "itemid", f"{where}/itemid")
    status = text_of(element, "itemstatus")
    if status is None:
        raise Unreadable(f"{where}/itemstatus", "missing")
    listed = parse_money(child(element, "advertpricelisted"), field=f"{where}/advertpricelisted")
    # The sale price is `price`; it may be below the listed price even without nego (§8a).
    price = parse_money(child(element, "price"), field=f"{where}/price") or listed
    if price is None:
        raise Unreadable(f"{where}/price/amount", "missing")
    return SaleItem(
        item_id=item_id,
        sku=text_of(element, "sku"),
        advert_id=text_of(element, "advertid"),
        title=text_of(element, "headline"),
        status=status.upper(),
        payment_status=_upper(text_of(element, "paymentstatus")),
        is_nego=_flag(element, "isnego"),
        is_preorder=_flag(element, "ispreorder"),
        price=price,
        listed_price=listed,
    )


def read_sale(element: Element) -> Sale:
    """Read one ``<sale>`` element.

    Raises:
        Unreadable: a field that identifies the sale or one of its items (ids, date,
            status, price) is missing or not what it should be.
    """
    purchase_id = _identifier(element, "purchaseid", "purchaseid")
    date = text_of(element, "purchasedate")
    if date is None:
        raise Unreadable("purchasedate", "missing")
    purchased_at = _paris_to_utc(date)
    items = tuple(_item(e, n) for n, e in enumerate(children(child(element, "items"), "item"), 1))
    info = child(element, "deliveryinformation")
    # Buyer fields sit in deliveryinformation (2014-02-11); fall back to the sale itself
    # in case a later version moved them (uncertain, rakuten-api.md §8 question 4).
    return Sale(
        purchase_id=purchase_id,
        purchased_at=purchased_at,
        shipping_type=text_of(info, "shippingtype") or text_of(element, "shippingtype"),
        buyer_login=text_of(info, "purchasebuyerlogin") or text_of(element, "purchasebuyerlogin"),
        buyer_email=text_of(info, "purchasebuyeremail") or text_of(element, "purchasebuyeremail"),
        delivery_address=_address(child(info, "deliveryaddress")),
        billing_address=_address(child(info, "billingaddress")),
        pickup_point=_pickup_point(child(info, "collectionpointaddress")),
        items=items,
    )


def sale_or_failure(element: Element) -> Sale | SaleFailure:
    """Read one ``<sale>``, or say which field of it could not be read and why."""
    try:
        return read_sale(element)
    except Unreadable as exc:
        purchase_id = text_of(element, "purchaseid")
        if purchase_id is not None and len(purchase_id) > MAX_ID_CHARS:
            purchase_id = None
        return SaleFailure(purchase_id=purchase_id, field=exc.field, reason=exc.reason)
