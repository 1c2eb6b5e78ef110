//! Meters, usage events and usage aggregates.

pub mod event;
pub mod inputs;
pub mod loaders;
pub mod meter;
pub mod meter_usage;
pub mod mutation;
pub mod primer;
pub mod query;
