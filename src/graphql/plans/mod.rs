//! Plans and their prices.

pub mod inputs;
pub mod loaders;
pub mod plan;
pub mod root;
