ALTER TABLE wallet_transactions
    DROP CONSTRAINT wallet_transactions_reason_check,
    ADD CONSTRAINT wallet_transactions_reason_check
        CHECK (reason IN ('TOP_UP', 'INVOICE_PAYMENT', 'EXPIRY', 'VOID_REFUND', 'MANUAL'));
ALTER TABLE wallets DROP CONSTRAINT wallets_closed_empty, DROP CONSTRAINT wallets_closed_at;
ALTER TABLE wallets DROP COLUMN closed_at;

DROP INDEX invoices_subscription_status;
DROP INDEX invoices_open_due;
DROP INDEX invoices_customer_listed;
DROP INDEX invoices_listed;
ALTER TABLE invoices DROP CONSTRAINT invoices_finalized_due;
ALTER TABLE invoices DROP COLUMN payment_status, DROP COLUMN invoice_date;
