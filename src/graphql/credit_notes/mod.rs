//! Credit notes, their lines and refunds, and customers' credit balances.

pub mod credit_note;
pub mod loaders;
pub mod root;
