-- The billing run's cursor: the next boundary of the subscription to
-- invoice (its start first, for fees billed in advance), NULL once the
-- subscription has ended and its last period is invoiced.
ALTER TABLE subscriptions ADD COLUMN next_billing_at timestamptz;
UPDATE subscriptions SET next_billing_at = start_at;
CREATE INDEX subscriptions_due ON subscriptions (next_billing_at) WHERE next_billing_at IS NOT NULL;

-- Invoice numbers are per tenant and gapless: the counter row is locked by
-- the finalizing transaction, so a rolled-back finalization returns its number.
CREATE TABLE invoice_counters (
    tenant_id   uuid   PRIMARY KEY REFERENCES tenants (id),
    last_number bigint NOT NULL
);

CREATE TABLE invoices (
    tenant_id       uuid        NOT NULL,
    id              uuid        NOT NULL,
    -- Who pays: the subscriber, or its paying ancestor for payer PARENT.
    customer_id     uuid        NOT NULL,
    -- NULL for one-off invoices.
    subscription_id uuid,
    status          text        NOT NULL DEFAULT 'DRAFT' CHECK (status IN ('DRAFT', 'FINALIZED', 'VOIDED')),
    number          text,
    currency        text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    -- The period billed in arrears; both equal the start for the opening
    -- invoice of fees billed in advance. NULL for one-off invoices.
    period_start    timestamptz,
    period_end      timestamptz,
    subtotal        numeric     NOT NULL,
    credits_applied numeric     NOT NULL DEFAULT 0 CHECK (credits_applied >= 0),
    total           numeric     NOT NULL,
    amount_paid     numeric     NOT NULL DEFAULT 0 CHECK (amount_paid >= 0),
    -- A draft is finalized by the billing run from this moment on.
    finalize_after  timestamptz NOT NULL,
    issued_at       timestamptz,
    due_at          timestamptz,
    finalized_at    timestamptz,
    voided_at       timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
    FOREIGN KEY (tenant_id, subscription_id) REFERENCES subscriptions (tenant_id, id),
    CHECK ((status = 'DRAFT') = (number IS NULL)),
    CHECK (amount_paid <= total OR status = 'DRAFT')
);
-- Every boundary of a subscription is invoiced exactly once.
CREATE UNIQUE INDEX invoices_subscription_period ON invoices (tenant_id, subscription_id, period_end)
    WHERE subscription_id IS NOT NULL;
CREATE UNIQUE INDEX invoices_number ON invoices (tenant_id, number) WHERE number IS NOT NULL;
CREATE INDEX invoices_customer ON invoices (tenant_id, customer_id, id);
CREATE INDEX invoices_drafts ON invoices (finalize_after) WHERE status = 'DRAFT';

CREATE TABLE invoice_line_items (
    tenant_id       uuid        NOT NULL,
    invoice_id      uuid        NOT NULL,
    position        integer     NOT NULL,
    -- The customer the charge is for (a descendant, for payer PARENT).
    customer_id     uuid        NOT NULL,
    price_id        uuid,
    meter_id        uuid,
    description     text        NOT NULL,
    quantity        numeric     NOT NULL,
    unit_amount     numeric,
    amount          numeric     NOT NULL,
    period_start    timestamptz,
    period_end      timestamptz,
    PRIMARY KEY (tenant_id, invoice_id, position),
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
    FOREIGN KEY (tenant_id, price_id) REFERENCES prices (tenant_id, id),
    FOREIGN KEY (tenant_id, meter_id) REFERENCES meters (tenant_id, id)
);

CREATE TABLE payments (
    tenant_id       uuid        NOT NULL,
    id              uuid        NOT NULL,
    invoice_id      uuid        NOT NULL,
    amount          numeric     NOT NULL CHECK (amount > 0),
    method          text        NOT NULL CHECK (method IN ('CARD', 'BANK_TRANSFER', 'OFFLINE', 'OTHER')),
    reference       text,
    idempotency_key text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id)
);
CREATE UNIQUE INDEX payments_idempotency ON payments (tenant_id, idempotency_key);
CREATE INDEX payments_invoice ON payments (tenant_id, invoice_id, id);

-- Prepaid credits. The balance is the sum of the ledger, cached here and
-- updated in the same transaction as each ledger entry; the CHECK is the
-- last line of defence against an overdraft.
CREATE TABLE wallets (
    tenant_id       uuid        NOT NULL,
    id              uuid        NOT NULL,
    customer_id     uuid        NOT NULL,
    currency        text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    name            text        NOT NULL,
    -- The currency value of one credit.
    conversion_rate numeric     NOT NULL CHECK (conversion_rate > 0),
    status          text        NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'CLOSED')),
    credit_balance  numeric     NOT NULL DEFAULT 0 CHECK (credit_balance >= 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);
CREATE INDEX wallets_customer ON wallets (tenant_id, customer_id, id);

-- Each top-up is a lot; debits take from the soonest-expiring lots first.
CREATE TABLE wallet_lots (
    tenant_id  uuid        NOT NULL,
    id         uuid        NOT NULL,
    wallet_id  uuid        NOT NULL,
    kind       text        NOT NULL CHECK (kind IN ('PURCHASED', 'FREE')),
    credits    numeric     NOT NULL CHECK (credits > 0),
    remaining  numeric     NOT NULL CHECK (remaining >= 0 AND remaining <= credits),
    expires_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, wallet_id) REFERENCES wallets (tenant_id, id)
);
CREATE INDEX wallet_lots_wallet ON wallet_lots (tenant_id, wallet_id) WHERE remaining > 0;
CREATE INDEX wallet_lots_expiry ON wallet_lots (expires_at) WHERE remaining > 0 AND expires_at IS NOT NULL;

-- The append-only ledger.
CREATE TABLE wallet_transactions (
    tenant_id       uuid        NOT NULL,
    id              uuid        NOT NULL,
    wallet_id       uuid        NOT NULL,
    kind            text        NOT NULL CHECK (kind IN ('CREDIT', 'DEBIT')),
    credits         numeric     NOT NULL CHECK (credits > 0),
    amount          numeric     NOT NULL,
    balance_after   numeric     NOT NULL CHECK (balance_after >= 0),
    reason          text        NOT NULL
        CHECK (reason IN ('TOP_UP', 'INVOICE_PAYMENT', 'EXPIRY', 'VOID_REFUND', 'MANUAL')),
    -- What the entry is about: an invoice id, a lot id, the client's text.
    reference       text,
    -- The lots a debit took from, [{"lot": id, "credits": "..."}], so a
    -- refund can put the credits back where they came from.
    lots            jsonb       NOT NULL DEFAULT '[]'::jsonb,
    idempotency_key text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, wallet_id) REFERENCES wallets (tenant_id, id)
);
CREATE INDEX wallet_transactions_wallet ON wallet_transactions (tenant_id, wallet_id, id);
CREATE UNIQUE INDEX wallet_transactions_idempotency ON wallet_transactions (tenant_id, wallet_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX wallet_transactions_reference ON wallet_transactions (tenant_id, reference)
    WHERE reason IN ('INVOICE_PAYMENT', 'VOID_REFUND');
