DROP INDEX customers_roots;
DROP INDEX invoices_open;
DROP INDEX invoices_customer_status;
