"""Shipping confirmation: the platform's `order.shipped` told to Rakuten, item by item, once.

- `intake`: the ingress applies `order.shipped`: a shipment, one step per item, and the
  failures known without Rakuten (`unknown_order`, `tracking_url_required`, `not_shippable`);
- `sweep`: the scheduler makes items due once Rakuten shows them accepted, and fails
  those that will never be told;
- `items`: one `settrackingpackageinfos` per item with a tracking number (`ship_item`);
- `files`: one `importitemshippingstatus` file per integration for the others (`ship_file`);
- `attempts`: what an attempt comes to, retries within `RAKUTEN_SHIPMENT_HOLD_S`, recording;
- `outcomes`: `order.shipment_confirmed` / `order.shipment_failed`, one per batch and reason;
- `status`: the open shipments `rakuten-worker status` shows.
"""
