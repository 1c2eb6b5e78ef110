-- Plans group the prices a subscription bills.
CREATE TABLE plans (
    tenant_id   uuid        NOT NULL REFERENCES tenants (id),
    id          uuid        NOT NULL,
    name        text        NOT NULL,
    -- The tenant's own stable name for the plan, e.g. "pro-monthly".
    lookup_key  text,
    description text,
    status      text        NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'ARCHIVED')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX plans_lookup_key ON plans (tenant_id, lookup_key) WHERE lookup_key IS NOT NULL;

-- A price: a fixed amount per period, or usage of a meter priced by a model.
-- Amounts are exact decimals; the model's parameters are kept as JSON with
-- decimal strings, validated by the pricing rules before they are stored.
CREATE TABLE prices (
    tenant_id            uuid        NOT NULL,
    id                   uuid        NOT NULL,
    plan_id              uuid        NOT NULL,
    currency             text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    billing_period       text        NOT NULL
        CHECK (billing_period IN ('DAILY', 'WEEKLY', 'MONTHLY', 'QUARTERLY', 'ANNUAL')),
    billing_period_count integer     NOT NULL CHECK (billing_period_count > 0),
    price_type           text        NOT NULL CHECK (price_type IN ('FIXED', 'USAGE')),
    -- FIXED prices
    amount               numeric,
    invoice_cadence      text        CHECK (invoice_cadence IN ('ADVANCE', 'ARREAR')),
    quantity             numeric,
    -- USAGE prices
    meter_id             uuid,
    billing_model        text        CHECK (billing_model IN ('PER_UNIT', 'PACKAGE', 'TIERED')),
    model                jsonb,
    status               text        NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'ARCHIVED')),
    created_at           timestamptz NOT NULL DEFAULT now(),
    archived_at          timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, plan_id) REFERENCES plans (tenant_id, id),
    FOREIGN KEY (tenant_id, meter_id) REFERENCES meters (tenant_id, id),
    CHECK (price_type <> 'FIXED' OR (amount IS NOT NULL AND invoice_cadence IS NOT NULL AND quantity IS NOT NULL
                                     AND meter_id IS NULL AND billing_model IS NULL)),
    CHECK (price_type <> 'USAGE' OR (meter_id IS NOT NULL AND billing_model IS NOT NULL AND model IS NOT NULL
                                     AND amount IS NULL))
);
CREATE INDEX prices_plan ON prices (tenant_id, plan_id, id);
