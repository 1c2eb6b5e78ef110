DROP TABLE wallet_transactions;
DROP TABLE wallet_lots;
DROP TABLE wallets;
DROP TABLE payments;
DROP TABLE invoice_line_items;
DROP TABLE invoices;
DROP TABLE invoice_counters;
ALTER TABLE subscriptions DROP COLUMN next_billing_at;
