DROP TABLE subscription_pauses;
DROP TABLE subscriptions;
