-- The schema the flows of DESIGN.md need: integrations, stock, stock imports,
-- orders, inbox and outbox. Long waits are due times in these tables, claimed by
-- the scheduler with leases, so a process that dies leaves nothing stuck.

CREATE TABLE integrations (
    integration_id        text PRIMARY KEY,
    account_id            text NOT NULL,
    application_name      text NOT NULL DEFAULT 'Rakuten',
    seller_id             text NOT NULL,
    token_encrypted       bytea,                     -- Fernet; NULL once deleted
    stock_sync_enabled    boolean NOT NULL DEFAULT false,
    auto_accept_orders    boolean NOT NULL DEFAULT false,
    status                text NOT NULL DEFAULT 'pending' CHECK (status IN (
                              'pending', 'verified', 'invalid_credentials',
                              'insufficient_rights', 'unavailable', 'deleted')),
    status_detail         text,
    rakuten_seller_id     text,
    verified_at           timestamptz,
    -- bumped on every change of seller_id or token: a verification result for
    -- older credentials is discarded, and event ids are per credentials version
    credentials_version   integer NOT NULL DEFAULT 1,
    verify_attempts       integer NOT NULL DEFAULT 0,
    verify_due_at         timestamptz,
    orders_due_at         timestamptz,
    orders_failures       integer NOT NULL DEFAULT 0,
    last_orders_poll_at   timestamptz,
    stock_lease_until     timestamptz,
    stock_not_before      timestamptz,               -- quota cool-down
    last_stock_file_at    timestamptz,
    reconcile_due_at      timestamptz,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    deleted_at            timestamptz
);
CREATE INDEX integrations_account_idx ON integrations (account_id);
CREATE INDEX integrations_verify_due_idx ON integrations (verify_due_at)
    WHERE verify_due_at IS NOT NULL;
CREATE INDEX integrations_orders_due_idx ON integrations (orders_due_at)
    WHERE status = 'verified';

-- Latest known quantity per (account, sku): the source of truth for pushes.
CREATE TABLE stock_levels (
    account_id   text NOT NULL,
    sku          text NOT NULL,
    quantity     integer NOT NULL CHECK (quantity >= 0),
    version      bigint,
    event_time   timestamptz NOT NULL,
    event_id     text NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, sku)
);

-- SKUs whose current quantity an integration still has to send. change_seq
-- identifies the marking: a push deletes only the rows whose seq it sent, so a
-- change that arrives during an upload stays pending.
CREATE SEQUENCE stock_change_seq;
CREATE TABLE stock_pending (
    integration_id  text NOT NULL REFERENCES integrations ON DELETE CASCADE,
    sku             text NOT NULL,
    change_seq      bigint NOT NULL DEFAULT nextval('stock_change_seq'),
    marked_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, sku)
);

CREATE TABLE stock_imports (
    id                  bigserial PRIMARY KEY,
    integration_id      text NOT NULL REFERENCES integrations ON DELETE CASCADE,
    rakuten_import_id   text NOT NULL,
    kind                text NOT NULL CHECK (kind IN ('changes', 'reconcile')),
    status              text NOT NULL DEFAULT 'pending'
                            CHECK (status IN ('pending', 'done', 'failed')),
    status_label        text,
    sku_count           integer NOT NULL,
    uploaded_at         timestamptz NOT NULL DEFAULT now(),
    report_due_at       timestamptz,
    report_attempts     integer NOT NULL DEFAULT 0,
    finished_at         timestamptz,
    UNIQUE (integration_id, rakuten_import_id)
);
CREATE INDEX stock_imports_report_due_idx ON stock_imports (report_due_at)
    WHERE status = 'pending';

CREATE TABLE stock_import_lines (
    import_pk   bigint NOT NULL REFERENCES stock_imports ON DELETE CASCADE,
    sku         text NOT NULL,
    quantity    integer NOT NULL,
    error_code  text,
    error_text  text,
    PRIMARY KEY (import_pk, sku)
);

CREATE TABLE orders (
    integration_id  text NOT NULL REFERENCES integrations ON DELETE CASCADE,
    order_id        text NOT NULL,                 -- Rakuten purchaseid
    account_id      text NOT NULL,
    ordered_at      timestamptz NOT NULL,
    status          text NOT NULL,
    data            jsonb NOT NULL,                -- the order as published
    imported_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, order_id)
);

-- One row per Rakuten item (one unit). Keyed by itemid: a purchase may gain
-- items after it was first seen and items change status (rakuten-api.md 8a).
CREATE TABLE order_items (
    integration_id   text NOT NULL,
    item_id          text NOT NULL,
    order_id         text NOT NULL,
    sku              text,
    status           text NOT NULL,
    payment_status   text,
    is_nego          boolean NOT NULL DEFAULT false,
    first_seen_at    timestamptz NOT NULL DEFAULT now(),
    status_seen_at   timestamptz NOT NULL DEFAULT now(),
    accept_state     text NOT NULL DEFAULT 'none'
                         CHECK (accept_state IN ('none', 'pending', 'accepted', 'failed')),
    accept_attempts  integer NOT NULL DEFAULT 0,
    accept_due_at    timestamptz,
    accept_error     text,
    PRIMARY KEY (integration_id, item_id),
    FOREIGN KEY (integration_id, order_id) REFERENCES orders ON DELETE CASCADE
);
CREATE INDEX order_items_accept_due_idx ON order_items (accept_due_at)
    WHERE accept_state = 'pending';

-- Changes seen on known orders, kept for the order-changes capability.
CREATE TABLE order_changes (
    id              bigserial PRIMARY KEY,
    integration_id  text NOT NULL,
    order_id        text NOT NULL,
    item_id         text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('item_added', 'item_status_changed')),
    old_status      text,
    new_status      text NOT NULL,
    detected_at     timestamptz NOT NULL DEFAULT now(),
    published_at    timestamptz
);
CREATE INDEX order_changes_order_idx ON order_changes (integration_id, order_id);

-- Ids of the inbound events already applied (deduplication).
CREATE TABLE inbox (
    event_id      text PRIMARY KEY,
    event_type    text NOT NULL,
    processed_at  timestamptz NOT NULL DEFAULT now()
);

-- Outbound events, written in the transaction of the fact they report.
CREATE TABLE outbox (
    id          bigserial PRIMARY KEY,
    event_id    text NOT NULL UNIQUE,
    event_type  text NOT NULL,
    body        jsonb NOT NULL,                    -- the whole CloudEvent
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz
);
CREATE INDEX outbox_unsent_idx ON outbox (id) WHERE sent_at IS NULL;
