//! Invoices, their lines and payments, and balances due.

pub mod adjustments;
pub mod invoice;
pub mod loaders;
pub mod root;
