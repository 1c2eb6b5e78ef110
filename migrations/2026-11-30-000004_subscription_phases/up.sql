-- A subscription's plan and seat quantities over time. A phase lasts until
-- the next one starts. A subscription never changed has no rows: its one
-- phase is its plan from its start. The first change writes that phase
-- too, so the rows always cover the subscription from its start.
-- Set with the first phase, so a subscription never changed is billed and
-- previewed without reading phases.
ALTER TABLE subscriptions ADD COLUMN phased boolean NOT NULL DEFAULT false;

-- The last change of billing period: before cut_at periods followed
-- cut_anchor and cut_billing_period(_count); from it, the subscription's
-- own (anchored at cut_at). The period it falls in ends there.
ALTER TABLE subscriptions
    ADD COLUMN cut_at timestamptz,
    ADD COLUMN cut_anchor timestamptz,
    ADD COLUMN cut_billing_period text
        CHECK (cut_billing_period IN ('DAILY', 'WEEKLY', 'MONTHLY', 'QUARTERLY', 'ANNUAL')),
    ADD COLUMN cut_billing_period_count integer CHECK (cut_billing_period_count > 0),
    ADD CONSTRAINT subscriptions_cut_whole CHECK (
        (cut_at IS NULL) = (cut_anchor IS NULL)
        AND (cut_at IS NULL) = (cut_billing_period IS NULL)
        AND (cut_at IS NULL) = (cut_billing_period_count IS NULL));

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
