ALTER TABLE invoice_line_items DROP COLUMN proration_fraction;
ALTER TABLE prices DROP CONSTRAINT prices_fixed_proration;
ALTER TABLE prices DROP COLUMN proration;
