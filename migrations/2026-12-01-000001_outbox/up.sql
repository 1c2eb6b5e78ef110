-- The outbox: one row per change that matters to outside systems, written
-- in the same transaction as the change, so an event exists exactly when
-- its change was committed. Webhook deliveries and provider syncs are
-- queued from it, in that same transaction.
CREATE TABLE outbox_events (
    tenant_id   uuid        NOT NULL REFERENCES tenants (id),
    -- Time-ordered (UUIDv7): pages and retention walk it.
    id          uuid        NOT NULL,
    -- e.g. 'customer.created'; the set is owned by the code (domain::outbox).
    event_type  text        NOT NULL CHECK (event_type ~ '^[a-z_]+\.[a-z_]+$'),
    -- e.g. 'customer', 'invoice'.
    object_type text        NOT NULL,
    object_id   uuid        NOT NULL,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    -- The object as the GraphQL API shows it (its scalar fields).
    data        jsonb       NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX outbox_events_type ON outbox_events (tenant_id, event_type, id);
CREATE INDEX outbox_events_object ON outbox_events (tenant_id, object_id, id);
-- Retention deletes by age across tenants.
CREATE INDEX outbox_events_occurred ON outbox_events (occurred_at);
