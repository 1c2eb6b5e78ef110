DROP TABLE subscription_phases;
ALTER TABLE subscriptions DROP COLUMN phased;
