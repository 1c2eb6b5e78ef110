pub mod customer;
pub mod customer_connection;
pub mod integration;
