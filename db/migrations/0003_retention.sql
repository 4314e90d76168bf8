-- Retention and erasure (DESIGN invariant 11): what the scheduler needs to prune by
-- age in small batches, and to erase a deleted integration's data later.
-- Every index serves one bounded `DELETE ... WHERE key IN (SELECT ... LIMIT n)`.

CREATE INDEX inbox_processed_at_idx ON inbox (processed_at);
CREATE INDEX outbox_sent_at_idx ON outbox (sent_at) WHERE sent_at IS NOT NULL;
-- every outbound event names its integration in data.integration_id (CONTRACT 1.2)
CREATE INDEX outbox_integration_idx ON outbox ((body -> 'data' ->> 'integration_id'));
CREATE INDEX stock_imports_finished_at_idx ON stock_imports (finished_at)
    WHERE finished_at IS NOT NULL;
CREATE INDEX order_changes_detected_at_idx ON order_changes (detected_at);

ALTER TABLE integrations
    -- when the orders and buyers' data of a deleted integration were erased
    ADD COLUMN erased_at timestamptz,
    -- the `time` of the newest integration event applied: an older one arriving
    -- later (a redelivery whose inbox id was pruned) changes nothing
    ADD COLUMN last_event_time timestamptz;
CREATE INDEX integrations_erase_due_idx ON integrations (deleted_at)
    WHERE status = 'deleted' AND erased_at IS NULL;

-- The last completed tick of each scheduler (a process group's, or one started
-- alone), for /healthz: PostgreSQL knows whether the scheduler makes progress,
-- whatever host it runs on. Rows of schedulers gone for a day are pruned.
CREATE TABLE scheduler_heartbeats (
    scheduler_id  text PRIMARY KEY,
    ticked_at     timestamptz NOT NULL DEFAULT now()
);
