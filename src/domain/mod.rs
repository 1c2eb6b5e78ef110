//! Pure business rules: no I/O. Every input the API accepts is checked here,
//! so the rules can be tested without a database or an HTTP server.

pub mod adjustments;
pub mod api_key;
pub mod charges;
pub mod country;
pub mod coupon;
pub mod credit_balance;
pub mod credit_note;
pub mod customer;
pub mod event;
pub mod hierarchy;
pub mod hosted_link;
pub mod instant;
pub mod integration;
pub mod invoice;
pub mod metadata;
pub mod meter;
pub mod money;
pub mod outbox;
pub mod period;
pub mod phase;
pub mod pricing;
pub mod proration;
pub mod provider;
pub mod ssrf;
pub mod stored;
pub mod subscription;
pub mod tax_rate;
pub mod tenant;
pub mod text;
pub mod usage;
pub mod validation;
pub mod wallet;
pub mod webhook;

pub use validation::ValidationError;
