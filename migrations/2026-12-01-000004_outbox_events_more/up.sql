-- invoice.overdue is emitted once per invoice: the statement that picks an
-- overdue invoice sets this, so a second run (or a concurrent one) never
-- announces it again.
ALTER TABLE invoices ADD COLUMN overdue_announced_at timestamptz;

-- The overdue finder walks only open finalized invoices not yet announced,
-- by due date; paid, voided and announced invoices leave the index.
CREATE INDEX invoices_overdue_unannounced ON invoices (due_at)
    WHERE status = 'FINALIZED' AND payment_status <> 'PAID' AND overdue_announced_at IS NULL;

-- wallet.low_balance is emitted when a debit takes the credit balance from
-- at or above this many credits to below it. NULL: never.
ALTER TABLE wallets ADD COLUMN low_balance_threshold numeric
    CHECK (low_balance_threshold IS NULL OR low_balance_threshold >= 0);
