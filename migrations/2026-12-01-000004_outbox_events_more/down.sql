ALTER TABLE wallets DROP COLUMN low_balance_threshold;
DROP INDEX invoices_overdue_unannounced;
ALTER TABLE invoices DROP COLUMN overdue_announced_at;
