//! API tests: GraphQL over HTTP against a real PostgreSQL.

mod support;

mod auth;
mod billing;
mod customers;
mod hierarchy;
mod ingestion;
mod input_rules;
mod integrations;
mod limits;
mod pagination;
mod plans;
mod schema;
mod statements;
mod subscriptions;
mod tenancy;
mod usage;
mod wallets;
