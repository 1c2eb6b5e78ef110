-- A customer's subscription to a plan. Its status is not stored: it follows
-- from the instants below and the clock (TRIALING until trial_end, PAUSED
-- while a pause is open, CANCELLED from ends_at), so no worker has to flip
-- it on time.
CREATE TABLE subscriptions (
    tenant_id            uuid        NOT NULL,
    id                   uuid        NOT NULL,
    customer_id          uuid        NOT NULL,
    plan_id              uuid        NOT NULL,
    -- SELF: invoiced to the customer; PARENT: to its nearest paying ancestor.
    payer                text        NOT NULL CHECK (payer IN ('SELF', 'PARENT')),
    -- The plan's currency and cadence when subscribed; prices in others do not bill here.
    currency             text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    billing_period       text        NOT NULL
        CHECK (billing_period IN ('DAILY', 'WEEKLY', 'MONTHLY', 'QUARTERLY', 'ANNUAL')),
    billing_period_count integer     NOT NULL CHECK (billing_period_count > 0),
    start_at             timestamptz NOT NULL,
    -- Periods are cut from this instant; see domain/period.rs.
    billing_anchor       timestamptz NOT NULL,
    trial_end            timestamptz,
    -- Start of the open pause, if any; closed pauses are in subscription_pauses.
    paused_at            timestamptz,
    -- When the subscription ends (now, or the end of a period); NULL while it runs on.
    ends_at              timestamptz,
    -- When cancellation was asked for.
    cancelled_at         timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
    FOREIGN KEY (tenant_id, plan_id) REFERENCES plans (tenant_id, id),
    CHECK (trial_end IS NULL OR trial_end > start_at),
    CHECK ((ends_at IS NULL) = (cancelled_at IS NULL))
);
CREATE INDEX subscriptions_customer ON subscriptions (tenant_id, customer_id, id);
CREATE INDEX subscriptions_plan ON subscriptions (tenant_id, plan_id);

-- Closed pauses: no charges accrue in [started_at, ended_at).
CREATE TABLE subscription_pauses (
    tenant_id       uuid        NOT NULL,
    subscription_id uuid        NOT NULL,
    started_at      timestamptz NOT NULL,
    ended_at        timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, subscription_id, started_at),
    FOREIGN KEY (tenant_id, subscription_id) REFERENCES subscriptions (tenant_id, id),
    CHECK (ended_at > started_at)
);
