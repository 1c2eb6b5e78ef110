//! Usage: meters, event ingestion and the external-id rule that keeps past
//! usage attached to its customer.

pub mod ingest;
pub mod meters;
pub mod rollups;
