//! Billing: the billing run, invoices, payments, credit notes, customer
//! credit balances and wallets. Each operation is one transaction that
//! locks what it checks; the rules come from domain/, the SQL from db/.

pub mod adjustments;
pub mod credit_balance;
pub mod credit_notes;
pub mod invoices;
pub mod payments;
pub mod run;
pub mod wallets;
