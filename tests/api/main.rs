//! API tests: GraphQL over HTTP against a real PostgreSQL.

mod js_env;
mod pdf_text;
mod python_env;
mod stripe_support;
mod support;

mod auth;
mod billing;
mod bounds;
mod changes;
mod credit_notes;
mod customers;
mod finance_lists;
mod flexprice;
mod graphql_http;
mod hierarchy;
mod ingestion;
mod input_rules;
mod integrations;
mod limits;
mod load;
mod operations;
mod outbox;
mod pagination;
mod plans;
mod proration;
mod schema;
mod slow_clients;
mod statements;
mod stripe;
mod subscriptions;
mod tenancy;
mod usage;
mod wallets;
mod webhooks;
