//! API tests: GraphQL over HTTP against a real PostgreSQL.

mod support;

mod auth;
mod billing;
mod bounds;
mod customers;
mod hierarchy;
mod ingestion;
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
