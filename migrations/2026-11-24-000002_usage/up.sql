-- Meters turn events into numbers: which events (event_name + filters) and
-- how (aggregation over one property).
CREATE TABLE meters (
    tenant_id   uuid        NOT NULL REFERENCES tenants (id),
    id          uuid        NOT NULL,
    name        text        NOT NULL,
    event_name  text        NOT NULL,
    aggregation text        NOT NULL
        CHECK (aggregation IN ('COUNT', 'SUM', 'MAX', 'UNIQUE_COUNT', 'LATEST', 'AVG')),
    property    text        CHECK ((aggregation = 'COUNT') OR (property IS NOT NULL)),
    -- [{"key": "...", "values": ["...", ...]}, ...]: every key must match one of its values.
    filters     jsonb       NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(filters) = 'array'),
    status      text        NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'ARCHIVED')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    archived_at timestamptz,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX meters_event_name ON meters (tenant_id, event_name);

-- Usage events, keyed by the caller's event id: the key makes ingestion
-- idempotent. Events name the customer by external id, so they can arrive
-- before the customer exists.
CREATE TABLE events (
    tenant_id            uuid        NOT NULL REFERENCES tenants (id),
    event_id             text        NOT NULL,
    event_name           text        NOT NULL,
    external_customer_id text        NOT NULL,
    "timestamp"          timestamptz NOT NULL,
    properties           jsonb       NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(properties) = 'object'),
    source               text,
    ingested_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, event_id)
);
-- The usage path: one customer's events of one name in a time range.
CREATE INDEX events_usage ON events (tenant_id, external_customer_id, event_name, "timestamp");
-- The raw-event listing in time order.
CREATE INDEX events_timeline ON events (tenant_id, "timestamp", event_id);
