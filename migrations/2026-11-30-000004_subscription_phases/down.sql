DROP TABLE subscription_phases;
ALTER TABLE subscriptions
    DROP COLUMN phased,
    DROP COLUMN cut_at,
    DROP COLUMN cut_anchor,
    DROP COLUMN cut_billing_period,
    DROP COLUMN cut_billing_period_count;
