ALTER TABLE refunds DROP COLUMN provider_status, DROP COLUMN provider_refund_id;
ALTER TABLE subscriptions DROP COLUMN collection_method;
ALTER TABLE customers DROP COLUMN collection_method;
DROP INDEX payments_card_reference;
DROP TABLE provider_events;
DROP TABLE payment_attempts;
DROP TABLE provider_tasks;
DROP TABLE provider_connections;
