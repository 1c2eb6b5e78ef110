//! Customers: their queries and mutations, the Customer type, hierarchy and
//! integration loaders, and their inputs.

pub mod customer;
pub mod customer_connection;
pub mod inputs;
pub mod integration;
pub mod loaders;
pub mod mutation;
pub mod query;
