-- Every claim of the scheduler reads only the rows whose work is due, whatever the
-- number of merchants: the scheduler runs its claims four times a second, and a
-- claim that scans every integration costs in proportion to all of them.
--
-- Already indexed by 0001: verifications (integrations_verify_due_idx), order polls
-- (integrations_orders_due_idx), report polls (stock_imports_report_due_idx),
-- acceptances (order_items_accept_due_idx); stock flushes walk the primary key of
-- stock_pending (integration_id, sku), one probe per integration with pending SKUs.

-- The daily full stock re-send: claimed where it is due among the verified
-- integrations with stock sync on (without it, a sequential scan of integrations).
CREATE INDEX integrations_reconcile_due_idx ON integrations (reconcile_due_at)
    WHERE status = 'verified' AND stock_sync_enabled;
