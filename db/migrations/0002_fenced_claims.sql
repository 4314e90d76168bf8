-- Fenced claims: every piece of due work that calls Rakuten carries a lease token in
-- its row, raised by one at each claim and carried by the message sent for it. The
-- work checks the token before calling Rakuten and when recording the outcome, so a
-- duplicate, late or superseded message does nothing. No session outlives a call.
--
-- Per kind of work: <prefix>lease_token (the fencing token) and <prefix>claims (claims
-- sent since a worker last started the work: each doubles the next lease, so messages
-- piling up while no worker runs grow in number like a logarithm, not linearly). The
-- due time column that already exists holds the lease's end while the work is claimed.

ALTER TABLE integrations
    ADD COLUMN verify_lease_token  bigint  NOT NULL DEFAULT 0,
    ADD COLUMN verify_claims       integer NOT NULL DEFAULT 0,
    ADD COLUMN orders_lease_token  bigint  NOT NULL DEFAULT 0,
    ADD COLUMN orders_claims       integer NOT NULL DEFAULT 0,
    ADD COLUMN stock_lease_token   bigint  NOT NULL DEFAULT 0,
    ADD COLUMN stock_claims        integer NOT NULL DEFAULT 0,
    -- a stock upload whose outcome is unknown (timeout, 5xx, crash mid-upload): Rakuten
    -- may apply it later, so a full re-send becomes due once it surely was; a refused
    -- upload (quota, error code) is known not to have gone out and triggers nothing
    ADD COLUMN stock_upload_unconfirmed boolean NOT NULL DEFAULT false;

UPDATE integrations i SET stock_upload_unconfirmed = true
WHERE i.last_stock_file_at IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM stock_imports m
    WHERE m.integration_id = i.integration_id AND m.uploaded_at >= i.last_stock_file_at);

ALTER TABLE stock_imports
    ADD COLUMN lease_token bigint  NOT NULL DEFAULT 0,
    ADD COLUMN claims      integer NOT NULL DEFAULT 0;

ALTER TABLE order_items
    ADD COLUMN accept_lease_token bigint  NOT NULL DEFAULT 0,
    ADD COLUMN accept_claims      integer NOT NULL DEFAULT 0;

-- Files Rakuten refused as a whole that carried the SKU's pending change: bounded, then
-- the SKU is reported with stock.sync_failed instead of being sent again forever.
ALTER TABLE stock_pending ADD COLUMN refusals integer NOT NULL DEFAULT 0;
ALTER TABLE stock_import_lines ADD COLUMN refusals integer NOT NULL DEFAULT 0;
