"""A local stand-in for Rakuten France's seller web services, over real HTTP.

It speaks the protocol of /work/shared/rakuten-api.md §1-4 closely enough for the real
httpx client, the tests, the demo and the benchmarks. It imports nothing else of ours.

Web services (query parameters login, pwd, version and action are mandatory)
---------------------------------------------------------------------------
``GET /sales_ws?action=getnewsales``
    Sales with at least one item TO_CONFIRM, REQUESTED or REMINDED, with all their items.
``GET /sales_ws?action=getcurrentsales[&purchasedate=YYYY-MM-DD][&nexttoken=T]``
    Sales with no item awaiting acceptance, purchased on or after purchasedate, paged
    (``sales_page_size``); ``response/nexttoken`` is empty on the last page.
``GET /sales_ws?action=acceptsale&itemid=N[&shippingfromcountry=249]``
    Sets the item ACCEPTED; status Accepted. An unknown itemid, or one not awaiting
    acceptance, is ParameterError "The parameter 'itemid' is invalid." (config
    ``reaccept="accepted"`` answers Accepted again for an already accepted item).
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

Control API (JSON in and out; 400 bad input, 404 unknown seller or route, 409 duplicate)
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
``GET /_sandbox/sellers/{login}/sales`` -> ``{"sales": [{purchase_id, purchased_at,
awaiting_acceptance, items: [{item_id, sku, advert_id, status, payment_status}]}]}``.
``POST /_sandbox/sellers/{login}/items/{item_id}`` ``{"status": "CANCELLED"}`` -> ``{item_id, status}``.
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
status, error_code}]`` (never the token; error_code is a Rakuten code or "fault:<kind>").
"""

from __future__ import annotations

from connectors.rakuten.sandbox.api import SandboxApi
from connectors.rakuten.sandbox.app import Sandbox, serve
from connectors.rakuten.sandbox.seed import SeedError
from connectors.rakuten.sandbox.state import UnknownSeller

__all__ = ["Sandbox", "SandboxApi", "SeedError", "UnknownSeller", "serve"]
