-- A subscription's plan and seat quantities over time. A phase lasts until
-- the next one starts. A subscription never changed has no rows: its one
-- phase is its plan from its start. The first change writes that phase
-- too, so the rows always cover the subscription from its start.
-- Set with the first phase, so a subscription never changed is billed and
-- previewed without reading phases.
ALTER TABLE subscriptions ADD COLUMN phased boolean NOT NULL DEFAULT false;

CREATE TABLE subscription_phases (
    tenant_id       uuid        NOT NULL,
    subscription_id uuid        NOT NULL,
    starts_at       timestamptz NOT NULL,
    plan_id         uuid        NOT NULL,
    -- Per FIXED price id, the quantity that replaces the price's own
    -- (decimal strings, validated before they are stored).
    quantities      jsonb       NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, subscription_id, starts_at),
    FOREIGN KEY (tenant_id, subscription_id) REFERENCES subscriptions (tenant_id, id),
    FOREIGN KEY (tenant_id, plan_id) REFERENCES plans (tenant_id, id),
    CHECK (jsonb_typeof(quantities) = 'object')
);
