-- Shipments: each order.shipped applied to a known order is one shipment, and each of
-- its items to tell Rakuten is a tracked step, claimed like an acceptance (a fencing
-- token in the row, carried by the message). An item is told with one
-- settrackingpackageinfos call, or, without a tracking number, as a line of the
-- integration's next importitemshippingstatus file.

CREATE TABLE shipments (
    id               bigserial PRIMARY KEY,
    event_id         text NOT NULL UNIQUE,          -- the order.shipped's id
    integration_id   text NOT NULL,
    account_id       text NOT NULL,
    order_id         text NOT NULL,
    carrier          text NOT NULL,                 -- as the platform named it
    transporter      text NOT NULL,                 -- Rakuten's name, sent to Rakuten
    tracking_number  text,
    tracking_url     text,
    shipped_at       timestamptz,
    received_at      timestamptz NOT NULL DEFAULT now(),
    -- items not accepted by then fail with not_shippable; retries stop then too
    hold_until       timestamptz NOT NULL,
    FOREIGN KEY (integration_id, order_id) REFERENCES orders ON DELETE CASCADE
);
CREATE INDEX shipments_order_idx ON shipments (integration_id, order_id);

-- One step per item of a shipment:
--   waiting    Rakuten has not accepted the item yet; due once the order poll (or the
--              automatic acceptance) records it ACCEPTED, failed past hold_until
--   due        to be told at due_at (lease_token fences the claim of a call)
--   confirmed  Rakuten took it (or had it shipped already)
--   failed     reason is the contract's (not_shippable, tracking_url_required, rejected)
-- batch groups the items told together: one outcome event per batch (and reason),
-- written when the last item of the batch is final; reported marks the items done so.
CREATE TABLE shipment_items (
    shipment_id     bigint NOT NULL REFERENCES shipments ON DELETE CASCADE,
    item_id         text NOT NULL,
    integration_id  text NOT NULL,
    state           text NOT NULL CHECK (state IN ('waiting', 'due', 'confirmed', 'failed')),
    via             text NOT NULL CHECK (via IN ('call', 'file')),
    batch           integer,
    attempts        integer NOT NULL DEFAULT 0,
    due_at          timestamptz,
    lease_token     bigint NOT NULL DEFAULT 0,
    claims          integer NOT NULL DEFAULT 0,
    reason          text CHECK (reason IN ('not_shippable', 'tracking_url_required', 'rejected')),
    detail          text,
    last_error      text,
    reported        boolean NOT NULL DEFAULT false,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (shipment_id, item_id),
    FOREIGN KEY (integration_id, item_id) REFERENCES order_items ON DELETE CASCADE
);
CREATE INDEX shipment_items_due_idx ON shipment_items (due_at) WHERE state = 'due';
CREATE INDEX shipment_items_waiting_idx ON shipment_items (integration_id, item_id)
    WHERE state = 'waiting';
CREATE INDEX shipment_items_item_idx ON shipment_items (integration_id, item_id);
CREATE INDEX shipment_items_file_due_idx ON shipment_items (integration_id, due_at)
    WHERE state = 'due' AND via = 'file';

-- The importitemshippingstatus file of an integration: one claim (fenced like a call)
-- sends every due line of the integration in one file.
CREATE TABLE shipment_files (
    integration_id  text PRIMARY KEY REFERENCES integrations ON DELETE CASCADE,
    lease_token     bigint NOT NULL DEFAULT 0,
    claims          integer NOT NULL DEFAULT 0,
    due_at          timestamptz,                   -- the lease's end while claimed
    last_file_at    timestamptz
);
