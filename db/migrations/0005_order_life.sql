-- After the import: changes of known orders published, the merchant's refusals and
-- cancellations as tracked steps, and Rakuten's to-do list read on a schedule.

-- A change records the order.updated that reported it, and why an item that
-- vanished before acceptance counts as cancelled (lapsed, or cancelled by the buyer).
ALTER TABLE order_changes
    ADD COLUMN event_id text,
    ADD COLUMN reason   text;

-- The item row decides, under its lock, between an automatic acceptance and a
-- refusal asked for at the same time: an acceptance starts only while no
-- cancellation was asked, and a refusal waits for an acceptance already under way.
ALTER TABLE order_items
    ADD COLUMN cancel_requested_at timestamptz,
    ADD COLUMN accept_started_at   timestamptz;
-- Each poll reads the stored items of the orders of every answer, by order.
CREATE INDEX order_items_order_idx ON order_items (integration_id, order_id);

-- One step per item of an order.cancel_requested: refusesale while the item awaits
-- acceptance, cancelitem once it is accepted. Fenced claims (db/leases.py): lease_token
-- is raised at each claim and carried by the message; due_at is the lease's end while
-- claimed; claims counts the claims not started by a worker.
CREATE TABLE order_cancellations (
    integration_id  text NOT NULL,
    request_id      text NOT NULL,              -- id of the order.cancel_requested
    item_id         text NOT NULL,
    order_id        text NOT NULL,
    reason          text NOT NULL,              -- shown to the buyer by cancelitem
    action          text CHECK (action IN ('refuse', 'cancel')),
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    -- an attempt whose answer was lost: Rakuten may have done it, so a later
    -- "cannot be cancelled" is checked against the item's status before it is final
    unconfirmed     boolean NOT NULL DEFAULT false,
    due_at          timestamptz,
    lease_token     bigint NOT NULL DEFAULT 0,
    claims          integer NOT NULL DEFAULT 0,
    error           text,
    failure         text CHECK (failure IN ('not_cancellable', 'rejected')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    PRIMARY KEY (integration_id, request_id, item_id),
    FOREIGN KEY (integration_id, item_id) REFERENCES order_items ON DELETE CASCADE
);
CREATE INDEX order_cancellations_due_idx ON order_cancellations (due_at) WHERE state = 'pending';
CREATE INDEX order_cancellations_item_idx ON order_cancellations (integration_id, item_id);

-- The causes Rakuten's to-do list last gave for an item; `changes` counts their
-- changes (the n of order.attention_required's id). A row stays when its causes
-- become empty, so a later change keeps counting and gets an id of its own.
CREATE TABLE item_attention (
    integration_id  text NOT NULL REFERENCES integrations ON DELETE CASCADE,
    item_id         text NOT NULL,
    order_id        text,
    causes          text[] NOT NULL,            -- sorted
    changes         integer NOT NULL,
    changed_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, item_id)
);
CREATE INDEX item_attention_listed_idx ON item_attention (integration_id) WHERE causes <> '{}';

-- The to-do list read of each verified integration: a fenced claim like the others.
-- A NULL due time means never read: due at once.
ALTER TABLE integrations
    ADD COLUMN todo_due_at       timestamptz,
    ADD COLUMN todo_lease_token  bigint NOT NULL DEFAULT 0,
    ADD COLUMN todo_claims       integer NOT NULL DEFAULT 0,
    ADD COLUMN todo_failures     integer NOT NULL DEFAULT 0;
CREATE INDEX integrations_todo_due_idx ON integrations (todo_due_at) WHERE status = 'verified';
