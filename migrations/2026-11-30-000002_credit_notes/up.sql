-- Invoice lines get a stable id, so a credit note can name the line it
-- credits. The default backfills existing lines (and keeps any writer that
-- does not supply one working); new lines get time-ordered ids from the code.
ALTER TABLE invoice_line_items ADD COLUMN id uuid NOT NULL DEFAULT gen_random_uuid();
CREATE UNIQUE INDEX invoice_line_items_id ON invoice_line_items (tenant_id, id);

-- What finalization took from the customer's credit balance (before
-- wallets), what credit notes issued against the invoice add up to, and the
-- part of those that cancelled what was still due (the rest was refunded).
ALTER TABLE invoices
    ADD COLUMN credit_balance_applied numeric NOT NULL DEFAULT 0 CHECK (credit_balance_applied >= 0),
    ADD COLUMN credit_note_total      numeric NOT NULL DEFAULT 0 CHECK (credit_note_total >= 0),
    ADD COLUMN amount_credited        numeric NOT NULL DEFAULT 0 CHECK (amount_credited >= 0),
    ADD CONSTRAINT invoices_credited_within_credit_notes CHECK (amount_credited <= credit_note_total),
    -- Credit notes never exceed what the invoice charged, however it was settled.
    ADD CONSTRAINT invoices_credit_notes_within_charge CHECK (credit_note_total <= GREATEST(subtotal, 0)),
    ADD CONSTRAINT invoices_settled_within_total CHECK (amount_paid + amount_credited <= total OR status = 'DRAFT');

-- Open invoices: credited ones are settled like paid ones.
DROP INDEX invoices_open;
CREATE INDEX invoices_open ON invoices (tenant_id, customer_id) INCLUDE (currency, total, amount_paid, amount_credited)
    WHERE status = 'FINALIZED' AND total > amount_paid + amount_credited;

-- Credit note numbers are per tenant and gapless, like invoice numbers.
CREATE TABLE credit_note_counters (
    tenant_id   uuid   PRIMARY KEY REFERENCES tenants (id),
    last_number bigint NOT NULL
);

CREATE TABLE credit_notes (
    tenant_id       uuid        NOT NULL,
    id              uuid        NOT NULL,
    number          text        NOT NULL,
    invoice_id      uuid        NOT NULL,
    -- The invoice's payer.
    customer_id     uuid        NOT NULL,
    currency        text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    reason          text        NOT NULL
        CHECK (reason IN ('DUPLICATE', 'FRAUDULENT', 'ORDER_CHANGE', 'PRODUCT_UNSATISFACTORY', 'OTHER')),
    memo            text,
    total           numeric     NOT NULL CHECK (total > 0),
    -- The part that cancelled what the invoice still asked for.
    amount_credited numeric     NOT NULL CHECK (amount_credited >= 0),
    -- The part of money already paid that went back to the customer.
    refunded_amount numeric     NOT NULL CHECK (refunded_amount >= 0),
    refund_to       text        CHECK (refund_to IN ('CREDIT_BALANCE', 'WALLET', 'RECORD_REFUND')),
    wallet_id       uuid,
    idempotency_key text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
    FOREIGN KEY (tenant_id, wallet_id) REFERENCES wallets (tenant_id, id),
    CHECK (amount_credited + refunded_amount = total),
    CHECK ((refund_to IS NULL) = (refunded_amount = 0)),
    CHECK ((wallet_id IS NOT NULL) = (refund_to IS NOT DISTINCT FROM 'WALLET'))
);
CREATE UNIQUE INDEX credit_notes_number ON credit_notes (tenant_id, number);
CREATE UNIQUE INDEX credit_notes_idempotency ON credit_notes (tenant_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX credit_notes_invoice ON credit_notes (tenant_id, invoice_id, id);
CREATE INDEX credit_notes_customer ON credit_notes (tenant_id, customer_id, id);

-- What a credit note credits line by line (none for a credit note of an amount).
CREATE TABLE credit_note_lines (
    tenant_id      uuid    NOT NULL,
    credit_note_id uuid    NOT NULL,
    line_item_id   uuid    NOT NULL,
    amount         numeric NOT NULL CHECK (amount > 0),
    PRIMARY KEY (tenant_id, credit_note_id, line_item_id),
    FOREIGN KEY (tenant_id, credit_note_id) REFERENCES credit_notes (tenant_id, id),
    FOREIGN KEY (tenant_id, line_item_id) REFERENCES invoice_line_items (tenant_id, id)
);
CREATE INDEX credit_note_lines_line ON credit_note_lines (tenant_id, line_item_id);

-- Money to pay back outside billgraph (RECORD_REFUND): how, and the
-- payout's id in the system that makes it.
CREATE TABLE refunds (
    tenant_id      uuid        NOT NULL,
    id             uuid        NOT NULL,
    credit_note_id uuid        NOT NULL,
    amount         numeric     NOT NULL CHECK (amount > 0),
    method         text        NOT NULL CHECK (method IN ('CARD', 'BANK_TRANSFER', 'OFFLINE', 'OTHER')),
    reference      text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, credit_note_id) REFERENCES credit_notes (tenant_id, id)
);
CREATE INDEX refunds_credit_note ON refunds (tenant_id, credit_note_id, id);

-- A customer's credit balance per currency: money billgraph owes the
-- customer, spent by its next invoices before wallets. The balance is the
-- sum of the ledger below, cached here and updated in the same transaction
-- as each entry; the row lock serialises every change, the CHECK is the
-- last line of defence against spending more than is held.
CREATE TABLE customer_credit_balances (
    tenant_id   uuid        NOT NULL,
    customer_id uuid        NOT NULL,
    currency    text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    balance     numeric     NOT NULL CHECK (balance >= 0),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, customer_id, currency),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);

-- The append-only ledger of credit balances. Each entry names its source
-- (an invoice or a credit note); the unique indexes let a source move a
-- balance once per reason, so nothing is granted or spent twice.
CREATE TABLE customer_credit_entries (
    tenant_id      uuid        NOT NULL,
    id             uuid        NOT NULL,
    customer_id    uuid        NOT NULL,
    currency       text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    -- Signed: what the entry adds to the balance.
    amount         numeric     NOT NULL CHECK (amount <> 0),
    balance_after  numeric     NOT NULL CHECK (balance_after >= 0),
    reason         text        NOT NULL
        CHECK (reason IN ('NEGATIVE_INVOICE', 'INVOICE_PAYMENT', 'CREDIT_NOTE', 'VOID_REFUND', 'VOID_REVERSAL')),
    -- The invoice the entry is about (for a credit note's refund, the
    -- credited invoice) and the credit note, for reason CREDIT_NOTE.
    invoice_id     uuid        NOT NULL,
    credit_note_id uuid,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id, currency)
        REFERENCES customer_credit_balances (tenant_id, customer_id, currency),
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id),
    FOREIGN KEY (tenant_id, credit_note_id) REFERENCES credit_notes (tenant_id, id),
    CHECK ((amount > 0) = (reason IN ('NEGATIVE_INVOICE', 'CREDIT_NOTE', 'VOID_REFUND'))),
    CHECK ((credit_note_id IS NOT NULL) = (reason = 'CREDIT_NOTE'))
);
CREATE UNIQUE INDEX customer_credit_entries_invoice ON customer_credit_entries (tenant_id, invoice_id, reason)
    WHERE credit_note_id IS NULL;
CREATE UNIQUE INDEX customer_credit_entries_credit_note ON customer_credit_entries (tenant_id, credit_note_id)
    WHERE credit_note_id IS NOT NULL;
CREATE INDEX customer_credit_entries_customer ON customer_credit_entries (tenant_id, customer_id, id);

-- Invoices finalized before credit balances existed lost the negative part
-- of their subtotal; it is granted now, one NEGATIVE_INVOICE entry per
-- invoice, as finalization does from now on.
INSERT INTO customer_credit_balances (tenant_id, customer_id, currency, balance, updated_at)
SELECT tenant_id, customer_id, currency, sum(-subtotal), now()
FROM invoices
WHERE status = 'FINALIZED' AND subtotal < 0
GROUP BY tenant_id, customer_id, currency;
INSERT INTO customer_credit_entries
    (tenant_id, id, customer_id, currency, amount, balance_after, reason, invoice_id, created_at)
SELECT tenant_id, gen_random_uuid(), customer_id, currency, -subtotal,
       sum(-subtotal) OVER (PARTITION BY tenant_id, customer_id, currency ORDER BY finalized_at, id),
       'NEGATIVE_INVOICE', id, now()
FROM invoices
WHERE status = 'FINALIZED' AND subtotal < 0;

-- Wallet credits can now come from a credit note's refund.
ALTER TABLE wallet_transactions DROP CONSTRAINT wallet_transactions_reason_check;
ALTER TABLE wallet_transactions ADD CONSTRAINT wallet_transactions_reason_check
    CHECK (reason IN ('TOP_UP', 'INVOICE_PAYMENT', 'EXPIRY', 'VOID_REFUND', 'MANUAL', 'CREDIT_NOTE_REFUND'));
