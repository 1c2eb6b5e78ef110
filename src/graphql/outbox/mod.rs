//! Outbox events as the API shows them, and the webhooks that carry them.

pub mod event;
pub mod loaders;
pub mod root;
