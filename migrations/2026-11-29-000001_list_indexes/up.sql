-- A status-filtered invoice page reads one customer's invoices of that
-- status, newest first, without stepping over the other statuses.
CREATE INDEX invoices_customer_status ON invoices (tenant_id, customer_id, status, id);

-- Balances due read only the invoices still open, so their cost follows
-- what is owed, not the length of the invoice history.
CREATE INDEX invoices_open ON invoices (tenant_id, customer_id) INCLUDE (currency, total, amount_paid)
    WHERE status = 'FINALIZED' AND total > amount_paid;

-- The rootsOnly list (the dashboard's first page) and its count.
CREATE INDEX customers_roots ON customers (tenant_id, id) WHERE parent_customer_id IS NULL;
