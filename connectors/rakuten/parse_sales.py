"""Parse getnewsales and getcurrentsales responses into :class:`Sale` values.

The field set follows rakuten-api.md §3.1 and §8a. Every field is looked up by local
name and read tolerantly; only what identifies a sale or an item (ids, date, status,
price) is required.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from .errors import RakutenResponseInvalid
from .models import Address, Money, PickupPoint, Sale, SaleItem
from .parse import load_response, require_response
from .xml import Element, child, children, text_of, texts

__all__ = ["paris_to_utc", "parse_money", "parse_sales"]

PARIS = ZoneInfo("Europe/Paris")
# "dd/mm/yyyy-HH:MM" (CS, SH samples); seconds and a space separator are tolerated.
_DATE = re.compile(
    r"(\d{1,2})/(\d{1,2})/(\d{4})[-\sT]+(\d{1,2}):(\d{2})(?::(\d{2}))?", re.ASCII
)
_TRUE = frozenset({"Y", "YES", "O", "OUI", "TRUE", "1"})


def paris_to_utc(value: str) -> datetime:
    """Convert Rakuten's Paris local ``dd/mm/yyyy-HH:MM`` into an aware UTC datetime.

    An ambiguous autumn time is read as its first occurrence (summer time, ``fold=0``);
    a nonexistent spring time is read with the winter offset, which moves it forward by
    the hour that was skipped (02:30 becomes 03:30 Paris time).
    """
    match = _DATE.fullmatch(value.strip())
    if match is None:
        raise RakutenResponseInvalid(f"unreadable purchase date {value[:40]!r}")
    day, month, year, hour, minute, second = (int(g or 0) for g in match.groups())
    try:
        local = datetime(year, month, day, hour, minute, second, tzinfo=PARIS, fold=0)
        return local.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise RakutenResponseInvalid(f"impossible purchase date {value[:40]!r}") from exc


def parse_money(element: Element | None) -> Money | None:
    """Read an ``amount``/``currency`` pair; ``None`` when the amount is missing."""
    raw = text_of(element, "amount")
    if raw is None:
        return None
    normalised = raw.replace(" ", "").replace("\u00a0", "")
    if "," in normalised and "." not in normalised:
        normalised = normalised.replace(",", ".")
    try:
        amount = Decimal(normalised)
    except InvalidOperation as exc:
        raise RakutenResponseInvalid(f"unreadable amount {raw[:40]!r}") from exc
    if not amount.is_finite():
        raise RakutenResponseInvalid(f"unreadable amount {raw[:40]!r}")
    currency = (text_of(element, "currency") or "EUR").upper()
    return Money(amount=amount, currency=currency)


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


def _item(element: Element) -> SaleItem:
    item_id = text_of(element, "itemid")
    status = text_of(element, "itemstatus")
    if item_id is None or status is None:
        raise RakutenResponseInvalid("sale item without itemid or itemstatus")
    listed = parse_money(child(element, "advertpricelisted"))
    # The sale price is `price`; it may be below the listed price even without nego (§8a).
    price = parse_money(child(element, "price")) or listed
    if price is None:
        raise RakutenResponseInvalid(f"sale item {item_id!r} has no price")
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


def _sale(element: Element) -> Sale:
    purchase_id = text_of(element, "purchaseid")
    date = text_of(element, "purchasedate")
    if purchase_id is None or date is None:
        raise RakutenResponseInvalid("sale without purchaseid or purchasedate")
    info = child(element, "deliveryinformation")
    # Buyer fields sit in deliveryinformation (2014-02-11); fall back to the sale itself
    # in case a later version moved them (uncertain, rakuten-api.md §8 question 4).
    return Sale(
        purchase_id=purchase_id,
        purchased_at=paris_to_utc(date),
        shipping_type=text_of(info, "shippingtype") or text_of(element, "shippingtype"),
        buyer_login=text_of(info, "purchasebuyerlogin") or text_of(element, "purchasebuyerlogin"),
        buyer_email=text_of(info, "purchasebuyeremail") or text_of(element, "purchasebuyeremail"),
        delivery_address=_address(child(info, "deliveryaddress")),
        billing_address=_address(child(info, "billingaddress")),
        pickup_point=_pickup_point(child(info, "collectionpointaddress")),
        items=tuple(_item(i) for i in children(child(element, "items"), "item")),
    )


def sales_from_root(root: Element) -> tuple[str | None, list[Sale], str | None]:
    """Read ``(sellerid, sales, nexttoken)`` from a parsed sales response root."""
    response = require_response(root)
    sales = [_sale(s) for s in children(child(response, "sales"), "sale")]
    return text_of(response, "sellerid"), sales, text_of(response, "nexttoken")


def parse_sales(body: bytes) -> tuple[str | None, list[Sale], str | None]:
    """Parse a getnewsales or getcurrentsales body into ``(sellerid, sales, nexttoken)``.

    Raises:
        RakutenResponseInvalid: the body is not a readable sales response.
        RakutenRejected, RakutenUnavailable: the body is an ``<errorresponse>``.
    """
    return sales_from_root(load_response(body, action="sales"))
