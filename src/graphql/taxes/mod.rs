//! Tax rates, as the API shows them.

pub mod loaders;
pub mod root;
pub mod tax_rate;
