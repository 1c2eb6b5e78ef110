//! Billing: the billing run, invoices, wallets and payments. Each operation
//! is one transaction that locks what it checks; the rules come from
//! domain/, the SQL from db/.

pub mod invoices;
pub mod payments;
pub mod run;
pub mod wallets;
