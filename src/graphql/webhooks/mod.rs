//! Webhook endpoints and their deliveries, as the API shows them.

pub mod delivery;
pub mod endpoint;
pub mod loaders;
pub mod root;
