-- A draft can be voided before it is issued: it keeps no number, as a
-- finalized invoice always has one. (The first rule, a number exactly
-- when not a draft, refused every voided draft.)
ALTER TABLE invoices DROP CONSTRAINT invoices_check;
ALTER TABLE invoices ADD CONSTRAINT invoices_numbered CHECK (
    CASE status WHEN 'DRAFT' THEN number IS NULL WHEN 'FINALIZED' THEN number IS NOT NULL ELSE true END
);
