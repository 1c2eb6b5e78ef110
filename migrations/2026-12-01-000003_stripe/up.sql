-- Payment providers (Stripe first): each tenant's connection with its
-- secrets sealed by the server key, the queue of work sent to the provider,
-- the attempts to charge an invoice, and the provider events already handled.

CREATE TABLE provider_connections (
    tenant_id             uuid        NOT NULL REFERENCES tenants (id),
    provider              text        NOT NULL CHECK (provider IN ('STRIPE')),
    api_base              text        NOT NULL,
    -- AES-256-GCM under BILLGRAPH_SECRET_KEY: never stored in plain text.
    secret_key_sealed     bytea       NOT NULL,
    webhook_secret_sealed bytea       NOT NULL,
    -- e.g. 'sk_test_…1234', enough to tell keys apart, useless to a thief.
    key_hint              text        NOT NULL,
    connected_at          timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, provider)
);

-- Work for the provider, run by the provider worker under a lease. A change
-- queues its task in the change's transaction, so an outage delays it and
-- never loses it.
CREATE TABLE provider_tasks (
    tenant_id     uuid        NOT NULL REFERENCES tenants (id),
    id            uuid        NOT NULL,
    kind          text        NOT NULL CHECK (kind IN ('SYNC_CUSTOMER', 'CHARGE_INVOICE', 'REFUND')),
    -- The customer, invoice or refund the task is about.
    object_id     uuid        NOT NULL,
    -- For charges: the attempt number (1, then one per retry).
    attempt       integer     NOT NULL DEFAULT 1,
    run_after     timestamptz NOT NULL,
    locked_until  timestamptz,
    -- Bumped when a change arrives for a queued task, so a run that read
    -- the older state does not mark the newer change done.
    generation    integer     NOT NULL DEFAULT 0,
    tries         integer     NOT NULL DEFAULT 0,
    last_error    text,
    done_at       timestamptz,
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
-- One open task per object, kind and attempt: repeated changes coalesce,
-- and a retry can be queued while the attempt before it finishes.
CREATE UNIQUE INDEX provider_tasks_open ON provider_tasks (tenant_id, kind, object_id, attempt) WHERE done_at IS NULL;
-- The worker's scan across tenants.
CREATE INDEX provider_tasks_due ON provider_tasks (run_after) WHERE done_at IS NULL;

-- Each try to collect an invoice through the provider.
CREATE TABLE payment_attempts (
    tenant_id         uuid        NOT NULL,
    invoice_id        uuid        NOT NULL,
    attempt           integer     NOT NULL CHECK (attempt >= 1),
    provider          text        NOT NULL CHECK (provider IN ('STRIPE')),
    payment_intent_id text,
    status            text        NOT NULL CHECK (status IN ('PENDING', 'SUCCEEDED', 'FAILED', 'REQUIRES_ACTION')),
    error             text,
    next_retry_at     timestamptz,
    failed_at         timestamptz,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, invoice_id, attempt),
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id)
);
CREATE UNIQUE INDEX payment_attempts_intent ON payment_attempts (tenant_id, payment_intent_id);

-- Provider events handled, written in the transaction of their effect, so
-- each is processed exactly once.
CREATE TABLE provider_events (
    tenant_id   uuid        NOT NULL REFERENCES tenants (id),
    provider    text        NOT NULL,
    event_id    text        NOT NULL,
    event_type  text        NOT NULL,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, provider, event_id)
);

-- A card payment is recorded once per PaymentIntent, whoever reports it.
CREATE UNIQUE INDEX payments_card_reference ON payments (tenant_id, reference) WHERE method = 'CARD' AND reference LIKE 'pi\_%';

ALTER TABLE customers
    ADD COLUMN collection_method text NOT NULL DEFAULT 'SEND_INVOICE'
        CHECK (collection_method IN ('CHARGE_AUTOMATICALLY', 'SEND_INVOICE'));
-- NULL: the customer's.
ALTER TABLE subscriptions
    ADD COLUMN collection_method text
        CHECK (collection_method IN ('CHARGE_AUTOMATICALLY', 'SEND_INVOICE'));

-- What the provider did with a refund to pay out.
ALTER TABLE refunds
    ADD COLUMN provider_refund_id text,
    ADD COLUMN provider_status    text;
