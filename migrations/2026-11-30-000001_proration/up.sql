-- How a fixed price bills a period the subscription was billable for only
-- part of. Prices created before this existed billed such periods in full,
-- and keep doing so; new fixed prices default to PRORATED (set by the API).
ALTER TABLE prices ADD COLUMN proration text CHECK (proration IN ('PRORATED', 'FULL_PERIOD'));
UPDATE prices SET proration = 'FULL_PERIOD' WHERE price_type = 'FIXED';
ALTER TABLE prices ADD CONSTRAINT prices_fixed_proration CHECK ((price_type = 'FIXED') = (proration IS NOT NULL));

-- The fraction of its period a prorated line bills (billable time over the
-- period's whole length), shown on the line; the amount was computed from
-- the exact fraction, this is its display to 6 decimals.
ALTER TABLE invoice_line_items ADD COLUMN proration_fraction numeric;

