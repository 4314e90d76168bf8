"""getnewsales and getcurrentsales documents, in the shape of shiba's samples (rakuten-api.md §3)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from connectors.rakuten.sandbox.lifecycle import view_status
from connectors.rakuten.sandbox.model import Item, Sale
from connectors.rakuten.sandbox.seed import PURCHASE_DATE_FORMAT
from connectors.rakuten.sandbox.xml_out import PROLOG, cdata, encode, open_root, request_echo, text


def _yes_no(flag: bool) -> str:
    """Return Rakuten's Y/N flag."""
    return "Y" if flag else "N"


def _person(buyer: dict[str, str]) -> str:
    """Return the civility and name elements shared by every address."""
    return (
        f"<civility>{text(buyer['civility'])}</civility>\n"
        f"<lastname>{cdata(buyer['last_name'])}</lastname>\n"
        f"<firstname>{cdata(buyer['first_name'])}</firstname>\n"
    )


def _address(tag: str, buyer: dict[str, str]) -> str:
    """Return a billingaddress or deliveryaddress element for the buyer."""
    return (
        f"<{tag}>\n{_person(buyer)}"
        f"<address1>{cdata(buyer['address1'])}</address1>\n"
        f"<address2>{cdata(buyer['address2'])}</address2>\n"
        f"<zipcode>{text(buyer['zipcode'])}</zipcode>\n"
        f"<city>{cdata(buyer['city'])}</city>\n\n"
        f"<country>{cdata(buyer['country'])}</country>\n"
        f"<countryalpha2>{text(buyer['countryalpha2'])}</countryalpha2>\n\n"
        f"<phonenumber1>{text(buyer['phone'])}</phonenumber1>\n"
        f"<phonenumber2></phonenumber2>\n\n</{tag}>\n"
    )


def _relay(sale: Sale) -> str:
    """Return the collectionpointaddress: the relay's id and address with the buyer's names."""
    relay = sale.relay
    return (
        f"<collectionpointaddress>\n{_person(sale.buyer)}"
        f"<id>{cdata(relay['id'])}</id>\n"
        f"<name>{cdata(relay['name'])}</name>\n"
        f"<address>{cdata(relay['address'])}</address>\n"
        f"<zipcode>{text(relay['zipcode'])}</zipcode>\n"
        f"<city>{cdata(relay['city'])}</city>\n"
        f"<country>{cdata(relay['country'])}</country>\n\n</collectionpointaddress>\n"
    )


def _addresses(sale: Sale) -> str:
    """Return the address elements the sale's layout calls for (rakuten-api.md §8a)."""
    if sale.layout == "billing":
        return _address("billingaddress", sale.buyer)
    if sale.layout == "relay":
        return _relay(sale) + "\n" + _address("billingaddress", sale.buyer)
    return _address("deliveryaddress", sale.buyer)


def _amount(tag: str, item: Item) -> str:
    """Return an amount/currency pair."""
    return (
        f"<{tag}>\n<amount>{text(item.price)}</amount>\n"
        f"<currency>{text(item.currency)}</currency>\n</{tag}>\n"
    )


def _item(item: Item, status: str) -> str:
    """Return one <item> element, showing the item with the status of the call."""
    return (
        f"\n<item>\n<sku>{cdata(item.sku)}</sku>\n"
        f"<advertid>{text(item.advert_id)}</advertid>\n{_amount('advertpricelisted', item)}"
        f"<itemid>{text(item.item_id)}</itemid>\n"
        f"<headline>{cdata(item.title)}</headline>\n"
        f"<itemstatus>{cdata(status)}</itemstatus>\n"
        f"<ispreorder>{_yes_no(item.is_preorder)}</ispreorder>\n"
        f"<isnego>{_yes_no(item.is_nego)}</isnego>\n"
        f"<negotiationcomment></negotiationcomment>\n{_amount('price', item)}"
        "<isrsl>N</isrsl>\n<isbn></isbn>\n<ean></ean>\n"
        f"<paymentstatus>{cdata(item.payment_status)}</paymentstatus>\n"
        "<sellerscore></sellerscore>\n</item>\n"
    )


def _corrupted(fragment: str, texts: Mapping[str, str]) -> str:
    """Serve `texts` in place of the values at these element paths (e.g. price/amount)."""
    for path, value in texts.items():
        names = path.split("/")
        opening = r"\s*".join(f"<{name}>" for name in names)
        pattern = re.compile(f"({opening})(?:<!\\[CDATA\\[.*?\\]\\]>|[^<])*(</{names[-1]}>)", re.S)
        served = text(value).replace("\\", "\\\\")  # a literal replacement, backslashes and all
        fragment = pattern.sub(rf"\g<1>{served}\g<2>", fragment)
    return fragment


def sale_fragment(sale: Sale, view: str) -> bytes:
    """Return the encoded <sale> element as `view` (getnewsales or getcurrentsales) shows it.

    Only the items that call shows are in it (rakuten-api.md §8b); the fragment is cached
    on the sale until the sale or an item changes. A corrupted sale (`corrupt_sale`) is
    served with the given texts in place of its values.
    """
    cached = sale.views.get(view)
    if cached is None:
        buyer = sale.buyer
        shown = [(item, status) for item in sale.items if (status := view_status(view, item))]
        fragment = (
            f"<sale>\n<purchaseid>{text(sale.purchase_id)}</purchaseid>\n"
            f"<purchasedate>{sale.purchased_at.strftime(PURCHASE_DATE_FORMAT)}</purchasedate>\n"
            f"<deliveryinformation>\n<shippingtype>{text(sale.shipping_type)}</shippingtype>\n"
            "<isfullrsl>N</isfullrsl>\n"
            f"<purchasebuyerlogin>{cdata(buyer['login'])}</purchasebuyerlogin>\n"
            f"<purchasebuyeremail>{text(buyer['email'])}</purchasebuyeremail>\n"
            f"{_addresses(sale)}\n</deliveryinformation>\n<items>\n"
            + "".join(_item(item, status) for item, status in shown)
            + "</items>\n</sale>\n"
        )
        cached = sale.views[view] = encode(_corrupted(fragment, sale.corrupt) if sale.corrupt else fragment)
    return cached


def sales_document(
    action: str,
    *,
    version: str,
    last_version: str,
    user: str,
    seller_id: str,
    sales: Sequence[bytes],
    echo: dict[str, str] | None = None,
    next_token: str | None = None,
) -> bytes:
    """Return a getnewsalesresult or getcurrentsalesresult around pre-rendered sale fragments.

    `next_token` None leaves the element out (getnewsales); "" writes an empty one.
    """
    root = f"{action}result"
    token = "" if next_token is None else f"<nexttoken>{text(next_token)}</nexttoken>\n"
    head = encode(
        PROLOG
        + open_root(root, action, f"{action}.{version}.xsd")
        + request_echo(version, user, echo)
        + f"<response>\n<lastversion>{last_version}</lastversion>\n{token}"
        + f"<sellerid>{text(seller_id)}</sellerid>\n<sales>\n"
    )
    tail = f"</sales>\n</response>\n</{root}>\n".encode("ascii")
    return b"".join([head, *sales, tail])
