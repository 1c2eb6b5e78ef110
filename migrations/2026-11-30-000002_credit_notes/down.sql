ALTER TABLE wallet_transactions DROP CONSTRAINT wallet_transactions_reason_check;
ALTER TABLE wallet_transactions ADD CONSTRAINT wallet_transactions_reason_check
    CHECK (reason IN ('TOP_UP', 'INVOICE_PAYMENT', 'EXPIRY', 'VOID_REFUND', 'MANUAL'));
DROP TABLE customer_credit_entries;
DROP TABLE customer_credit_balances;
DROP TABLE refunds;
DROP TABLE credit_note_lines;
DROP TABLE credit_notes;
DROP TABLE credit_note_counters;
DROP INDEX invoices_open;
CREATE INDEX invoices_open ON invoices (tenant_id, customer_id) INCLUDE (currency, total, amount_paid)
    WHERE status = 'FINALIZED' AND total > amount_paid;
ALTER TABLE invoices
    DROP CONSTRAINT invoices_settled_within_total,
    DROP CONSTRAINT invoices_credit_notes_within_charge,
    DROP CONSTRAINT invoices_credited_within_credit_notes,
    DROP COLUMN amount_credited,
    DROP COLUMN credit_note_total,
    DROP COLUMN credit_balance_applied;
DROP INDEX invoice_line_items_id;
ALTER TABLE invoice_line_items DROP COLUMN id;
