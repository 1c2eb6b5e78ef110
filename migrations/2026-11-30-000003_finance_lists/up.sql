-- A tenant's invoice list is ordered and filtered by the invoice's date:
-- when it was issued, or for a draft (and a draft voided before issue)
-- when it was created (domain::invoice::invoice_date). Its payment status
-- is kept beside it, derived exactly as domain::invoice::payment_status
-- derives it, so both can lead an index. PostgreSQL keeps the two columns
-- in step with every write of the row.
ALTER TABLE invoices
    ADD COLUMN invoice_date timestamptz GENERATED ALWAYS AS (COALESCE(issued_at, created_at)) STORED,
    ADD COLUMN payment_status text GENERATED ALWAYS AS (
        CASE WHEN status = 'VOIDED' THEN 'VOID'
             WHEN status = 'DRAFT' THEN 'PENDING'
             WHEN amount_paid + amount_credited >= total THEN 'PAID'
             WHEN amount_paid > 0 THEN 'PARTIALLY_PAID'
             ELSE 'PENDING' END
    ) STORED;

-- Every finalized invoice has a due date, so "not overdue" is a range.
ALTER TABLE invoices ADD CONSTRAINT invoices_finalized_due CHECK (status <> 'FINALIZED' OR due_at IS NOT NULL);

-- One range per (status, payment status) pair, newest first; due_at last,
-- so the overdue test is made on the index entry, before the row is read.
CREATE INDEX invoices_listed ON invoices (tenant_id, status, payment_status, invoice_date, id, due_at);
CREATE INDEX invoices_customer_listed
    ON invoices (tenant_id, customer_id, status, payment_status, invoice_date, id, due_at);
-- Open invoices not yet due, for "not overdue" across the tenant.
CREATE INDEX invoices_open_due ON invoices (tenant_id, due_at)
    WHERE status = 'FINALIZED' AND total > amount_paid + amount_credited;
-- A subscription's invoices of one status, newest first.
CREATE INDEX invoices_subscription_status ON invoices (tenant_id, subscription_id, status, id)
    WHERE subscription_id IS NOT NULL;

-- A closed wallet holds nothing: it is closed empty, or its credits are
-- forfeited by a WALLET_CLOSED entry in the same transaction.
ALTER TABLE wallets ADD COLUMN closed_at timestamptz;
UPDATE wallets SET closed_at = updated_at WHERE status = 'CLOSED';
ALTER TABLE wallets
    ADD CONSTRAINT wallets_closed_at CHECK ((status = 'CLOSED') = (closed_at IS NOT NULL)),
    ADD CONSTRAINT wallets_closed_empty CHECK (status = 'ACTIVE' OR credit_balance = 0);

ALTER TABLE wallet_transactions
    DROP CONSTRAINT wallet_transactions_reason_check,
    ADD CONSTRAINT wallet_transactions_reason_check
        CHECK (reason IN ('TOP_UP', 'INVOICE_PAYMENT', 'EXPIRY', 'VOID_REFUND', 'MANUAL', 'CREDIT_NOTE_REFUND',
                          'WALLET_CLOSED'));
