DROP TABLE credit_note_taxes;
ALTER TABLE credit_notes DROP COLUMN tax_amount;
DROP TABLE invoice_line_taxes;
DROP TABLE invoice_taxes;
DROP TABLE invoice_line_discounts;
DROP TABLE invoice_discounts;
ALTER TABLE invoice_line_items DROP COLUMN discount_amount, DROP COLUMN tax_amount, DROP COLUMN tax_added;
ALTER TABLE invoices
    DROP CONSTRAINT invoices_credit_notes_within_charge,
    DROP COLUMN discount_total, DROP COLUMN tax_total, DROP COLUMN tax_added,
    DROP COLUMN billed_to, DROP COLUMN issued_by,
    ADD CONSTRAINT invoices_credit_notes_within_charge CHECK (credit_note_total <= GREATEST(subtotal, 0));
DROP TABLE customer_tax_rates;
DROP TABLE tax_rates;
DROP TABLE discounts;
DROP TABLE coupons;
ALTER TABLE customers DROP COLUMN tax_exempt, DROP COLUMN tax_id;
ALTER TABLE tenants
    DROP COLUMN display_name, DROP COLUMN address_line1, DROP COLUMN address_line2, DROP COLUMN address_city,
    DROP COLUMN address_state, DROP COLUMN address_postal_code, DROP COLUMN address_country,
    DROP COLUMN email, DROP COLUMN logo_url, DROP COLUMN invoice_footer;
