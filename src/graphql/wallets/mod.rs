//! Wallets and their ledgers.

pub mod loaders;
pub mod root;
pub mod wallet;
