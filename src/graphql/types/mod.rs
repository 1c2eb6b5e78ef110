pub mod connection;
pub mod customer;
pub mod customer_connection;
pub mod event;
pub mod integration;
pub mod meter;
pub mod plan;
pub mod usage;
