-- Webhook endpoints: where a tenant wants its outbox events sent, signed
-- with a secret stored sealed (AES-256-GCM under the server key).
CREATE TABLE webhook_endpoints (
    tenant_id       uuid        NOT NULL REFERENCES tenants (id),
    id              uuid        NOT NULL,
    url             text        NOT NULL,
    description     text,
    -- Event type names, or the single element '*' for every type.
    event_types     text[]      NOT NULL CHECK (cardinality(event_types) > 0),
    status          text        NOT NULL DEFAULT 'ENABLED'
                                CHECK (status IN ('ENABLED', 'DISABLED', 'FAILING_DISABLED')),
    disabled_at     timestamptz,
    disabled_reason text,
    secret_sealed   bytea       NOT NULL,
    -- After a rotation the previous secret keeps signing beside the new one
    -- until previous_secret_expires_at.
    previous_secret_sealed     bytea,
    previous_secret_expires_at timestamptz,
    -- The first failed attempt since the last successful one: an endpoint
    -- failing for 5 days is disabled.
    failing_since   timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);

-- One event sent to one endpoint (a replay is another delivery of the same
-- event), with the outcome of its latest attempt.
CREATE TABLE webhook_deliveries (
    tenant_id     uuid        NOT NULL,
    id            uuid        NOT NULL,
    event_id      uuid        NOT NULL,
    endpoint_id   uuid        NOT NULL,
    status        text        NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'SUCCEEDED', 'FAILED')),
    -- Attempts made so far.
    attempts      integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- When the next attempt is due; null once the delivery is settled.
    next_attempt_at timestamptz,
    -- A worker holding the delivery until then is sending it; nobody else may.
    leased_until  timestamptz,
    last_response_code integer,
    last_duration_ms   integer,
    last_error         text,
    last_attempted_at  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    -- Retention deletes old events, and their deliveries with them.
    FOREIGN KEY (tenant_id, event_id) REFERENCES outbox_events (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, endpoint_id) REFERENCES webhook_endpoints (tenant_id, id) ON DELETE CASCADE,
    CHECK ((status = 'PENDING') = (next_attempt_at IS NOT NULL))
);
-- The workers' queue, across tenants: only what is still to be sent.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'PENDING';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (tenant_id, endpoint_id, id);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (tenant_id, event_id, id);

-- Every attempt of a delivery; an attempt number is recorded once.
CREATE TABLE webhook_delivery_attempts (
    tenant_id     uuid        NOT NULL,
    delivery_id   uuid        NOT NULL,
    attempt       integer     NOT NULL CHECK (attempt >= 1),
    status        text        NOT NULL CHECK (status IN ('SUCCEEDED', 'FAILED')),
    response_code integer,
    duration_ms   integer     NOT NULL CHECK (duration_ms >= 0),
    error         text,
    attempted_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, delivery_id, attempt),
    FOREIGN KEY (tenant_id, delivery_id) REFERENCES webhook_deliveries (tenant_id, id) ON DELETE CASCADE
);
