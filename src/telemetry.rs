//! Logs and metrics. Logs go to stderr as text (coloured only on a
//! terminal) or as JSON lines; RUST_LOG filters them (default: info).

pub mod metrics;

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;
use crate::error::AppError;

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).try_init(),
    };
}

/// An error as a log line shows it: the message, and for internal errors
/// the chain of causes (which the API never shows).
pub fn error_detail(err: &AppError) -> String {
    match err {
        AppError::Internal(inner) => format!("{inner:#}"),
        other => other.to_string(),
    }
}
