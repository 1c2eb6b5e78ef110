//! Invoices, their lines and payments, and balances due.

pub mod adjustments;
pub mod invoice;
pub mod line_primer;
pub mod loaders;
pub mod root;
