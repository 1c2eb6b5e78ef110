//! Subscriptions, their pauses, and the upcoming invoice they preview.

pub mod changes;
pub mod loaders;
pub mod preview;
pub mod root;
pub mod subscription;
