"""A local stand-in for Rakuten France's seller web services, over real HTTP.

It speaks the protocol of /work/shared/rakuten-api.md §1-4 and §8b closely enough for the
real httpx client, the tests, the demo and the benchmarks. It imports nothing else of ours.

Web services (query parameters login, pwd, version and action are mandatory)
---------------------------------------------------------------------------
Each item lives as rakuten-api.md §8b's table says (module `lifecycle`): each call shows
it with its own status, or leaves it out.

``GET /sales_ws?action=getnewsales``
    Sales with an item TO_CONFIRM, REQUESTED or REMINDED, and sales that ended before any
    acceptance (items REFUSED, or CANCELLED by the buyer) until they lapse. Items shown:
    awaiting, ACCEPTED, REFUSED, CANCELLED before acceptance (unless it vanished).
``GET /sales_ws?action=getcurrentsales[&purchasedate=YYYY-MM-DD][&nexttoken=T]``
    Sales with no item awaiting acceptance that show an item ACCEPTED (shipped or not),
    PENDING, PENDING_CLAIM or CANCELLED after acceptance, purchased on or after
    purchasedate, paged (``sales_page_size``) by the position of the last sale served, so
    sales that change between pages never shift the others; ``response/nexttoken`` is
    empty on the last page. REFUSED, lapsed and CLOSED items are in neither list.
``GET /sales_ws?action=acceptsale&itemid=N[&shippingfromcountry=249]``
    Sets the item ACCEPTED; status Accepted. An unknown itemid, or one not awaiting
    acceptance (refused, cancelled, lapsed...), is ParameterError "The parameter 'itemid'
    is invalid." (config ``reaccept="accepted"`` answers Accepted again for an already
    accepted item).
``GET /sales_ws?action=settrackingpackageinfos&itemid=N&transporter_name=X&tracking_number=Y``
``[&tracking_url=U]``
    Records the item's tracking (it stays ACCEPTED: there is no SHIPPED status); root
    ``setshippingpackageinfosresult``, status OK. ``transporter_name`` must be one of
    Rakuten's names spelled exactly (else "The parameter 'transporter_name' is invalid.");
    ``Autre`` needs tracking_url. Refusals are ParameterError with detail "Article N :
    numéro incorrect" (unknown item), "Article N : a déjà été expédié" (tracking already
    set), "Article N : statut incorrect. ... 'confirmé'." (not ACCEPTED).
``POST /sales_ws?action=importitemshippingstatus`` (multipart part ``file``:
``items/item{purchaseid, itemid, transporter, trackingnumber?, trackingurl?}``)
    Applies every line and answers ``importresult`` status OK, or applies none and answers
    ParameterError with one "Article N : ..." detail per refused line (the texts above;
    a purchaseid that is not the item's is "numéro incorrect").
``GET /sales_ws?action=refusesale&itemid=N``
    Refuses an item awaiting acceptance; status Refused. Otherwise ParameterError "Current
    status : S - Required status : REQUESTED", S being CAPTURED (accepted, claimed),
    EMPTIED (cancelled, lapsed), REFUSED or CLOSED.
``GET /sales_ws?action=cancelitem&itemid=N&comment=TEXT``
    Cancels an ACCEPTED or PENDING item not shipped yet (the comment is kept); status
    CANCELLED. Otherwise "This item cannot be cancelled"; a comment over 400 characters
    is "Your message cannot exceed 400 characters".
``GET /sales_ws?action=getitemtodolist``
    ``items/item{itemid, causes/cause*}`` for every item with a cause: CLAIM while a claim
    is open, UNREAD_MESSAGE_FROM_BUYER / _FROM_CUSTOMER_SERVICE until the messages are read.
``POST /stock_ws?action=genericimportfile`` (multipart/form-data, part ``file``)
    Pro sellers only. Answers importid and status OK, or "Quota exceeded." when the
    seller's previous accepted file is less than ``file_min_interval_s`` old.
``GET /stock_ws?action=genericimportreport&fileid=ID[&nexttoken=T]``
    Pro sellers only. ``file/status`` is "En attente" until ``import_delay_s`` has passed,
    then "Traité" (quantities applied to the listings; unknown or rejected SKUs and
    non-integer quantities become ``Erreur`` product lines and are not applied) or
    "Aucune ligne n’a été chargée" when no advert line could be read. Product lines are
    paged (``report_page_size``); the last page has no nexttoken.

Errors are ``errorresponse`` documents sent with HTTP ``error_http_status`` (default 200):
bad login or token -> Sender/InvalidUserConnection "Unknown user or password."; missing
parameter -> ParameterError "The parameter X is mandatory"; bad value -> ParameterError
"The parameter 'X' is invalid."; non-pro seller on stock_ws -> InvalidUserRights "You
are not allowed to use this service."; quota -> InvalidUserRights "Quota exceeded.".
Answers are ISO-8859-1 (``text/xml;charset=ISO-8859-1``) with CDATA text values.

Control API (JSON in and out; 400 bad input, 404 unknown seller or route, 409 duplicate
or a change the item's status does not allow)
---------------------------------------------------------------------------------
``POST /_sandbox/reset`` -> ``{"ok": true}``: forget everything, default configuration.
``GET|POST /_sandbox/config`` ``{file_min_interval_s, import_delay_s, sales_page_size,
report_page_size, error_http_status, reaccept}`` (any subset) -> the whole configuration.
``POST /_sandbox/sellers`` ``{login, token, seller_id?, pro?=true}`` -> ``{login, seller_id}``
(409 when the login exists).
``POST /_sandbox/sellers/{login}/listings`` ``{"listings": [{"sku", "quantity",
"advert_id"?}]}`` (upsert) and ``GET`` same -> ``{"listings": {sku: quantity}}``.
``POST /_sandbox/sellers/{login}/reject_skus`` ``{"skus": [...]}`` -> ``{"ok": true}``.
``POST /_sandbox/sellers/{login}/sales`` ``{"sales": [sale]}`` -> ``{"sales": [{"purchase_id",
"item_ids"}]}``. A sale is ``{purchase_id?, purchased_at? ("dd/mm/yyyy-HH:MM", Paris;
default now), shipping_type?, layout? ("delivery" | "billing" | "relay"), relay? {id, name,
address, zipcode, city, country}, buyer? {login, email, first_name, last_name, civility,
address1, address2, zipcode, city, country, countryalpha2 ("FX"), phone}, items: [{item_id?,
sku?, advert_id?, title?, price? ("12.50"), currency? ("EUR"), status? ("TO_CONFIRM"),
payment_status? ("INCOMING"), is_nego?, is_preorder?}]}``. A known purchase_id gains the items.
An item may also carry ``accepted`` (default true for ACCEPTED, PENDING, PENDING_CLAIM,
CLOSED and CANCELLED, which then counts as cancelled after acceptance).
``GET /_sandbox/sellers/{login}/sales`` -> ``{"sales": [{purchase_id, purchased_at,
awaiting_acceptance, items: [item]}]}``, an item being ``{item_id, sku, advert_id, status,
payment_status, accepted, tracking ({transporter_name, tracking_number, tracking_url,
via}) or null, causes, cancel_comment}``.
``POST /_sandbox/sellers/{login}/sales/{purchase_id}/items`` ``{"items": [...]}`` ->
``{purchase_id, item_ids}``: items added to a known purchase (400 when it is unknown).
``POST /_sandbox/sellers/{login}/sales/{purchase_id}/lapse`` -> ``{purchase_id, item_ids}``:
the sale leaves getnewsales; the items still awaiting acceptance become LAPSED.
``GET /_sandbox/sellers/{login}/items/{item_id}`` -> the item with its ``purchase_id``.
``POST /_sandbox/sellers/{login}/items/{item_id}`` ``{"status": "CANCELLED"}`` -> ``{item_id,
status}``: sets any status as is (ACCEPTED, PENDING, PENDING_CLAIM, CLOSED mark it accepted).
``POST /_sandbox/sellers/{login}/items/{item_id}/<verb>`` -> the item; 409 when its status
does not allow it. Verbs: ``cancel`` ``{visible?=true}`` (the buyer cancels: before
acceptance CANCELLED in getnewsales, or gone from it when not visible; after acceptance,
unshipped, CANCELLED in getcurrentsales), ``claim`` (the buyer opens a claim on an accepted
item: PENDING_CLAIM, cause CLAIM), ``close_claim`` ``{status?}`` (back to the status before
the claim, or CLOSED or CANCELLED; CLAIM leaves the to-do list), ``messages`` ``{"from":
"buyer" | "customer_service"}`` (an unread message cause), ``read_messages`` (the seller
read them on Rakuten: the message causes go).
``GET /_sandbox/sellers/{login}/calls`` -> ``{"actions": {action: n}, "items": {action:
{item_id: n}}}``: every web-service call received for the login (faults and errors
included, never trimmed), by action, and by item (``itemid``, or the lines of a shipping file).
``POST /_sandbox/sellers/{login}/sales/{purchase_id}/corrupt`` ``{"texts": {"price/amount":
"neuf euros"}}`` -> ``{purchase_id, texts}``: serve the sale unreadable, the given texts in
place of its values at these paths (``purchaseid``, ``purchasedate``, ``itemid``,
``itemstatus``, ``price/amount``; item paths in every item); ``{"texts": {}}`` serves it
readable again.
``POST /_sandbox/sellers/{login}/faults`` ``{kind, count?=1, actions?, hang_s?=30,
size_mb?=1, body? | body_base64?, content_type?, status?}`` -> ``{"ok": true}``. Kinds:
http500, hang (delays then answers normally), malformed (truncated XML, no side effect),
quota, billion_laughs, huge (streamed), raw (body served as is).
``GET /_sandbox/sellers/{login}/files`` -> ``[{import_id, filename, received_at, lines:
[[sku, qty], ...], status, size_bytes}]`` (lines in file order, duplicates kept).
``GET /_sandbox/requests[?login=L][&action=A]`` -> ``[{time, method, path, action, login,
status, error_code, item_id}]`` (never the token; error_code is a Rakuten code or
"fault:<kind>"; the last 100,000 requests).
"""

from __future__ import annotations

from connectors.rakuten.sandbox.api import SandboxApi
from connectors.rakuten.sandbox.app import Sandbox, serve
from connectors.rakuten.sandbox.seed import SeedError
from connectors.rakuten.sandbox.state import UnknownSeller

__all__ = ["Sandbox", "SandboxApi", "SeedError", "UnknownSeller", "serve"]
