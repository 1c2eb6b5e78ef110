ALTER TABLE invoices DROP CONSTRAINT invoices_numbered;
ALTER TABLE invoices ADD CONSTRAINT invoices_check CHECK ((status = 'DRAFT') = (number IS NULL));
