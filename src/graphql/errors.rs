//! Turns every error of a GraphQL response into the API's contract:
//! `extensions.code` always set, internal details never shown.

use std::sync::Arc;

use async_graphql::{ErrorExtensionValues, ServerError};

use crate::config::Limits;
use crate::error::{AppError, ErrorCode};
use crate::telemetry::metrics::METRICS;

/// Sets the code (and the field, for VALIDATION) of each error, hides
/// internal messages, and names the limit a refused query exceeded.
pub fn finish_errors(errors: &mut [ServerError], limits: &Limits) {
    for err in errors {
        let app_error = err
            .source::<AppError>()
            .map(|e| {
                (
                    e.code(),
                    e.field().map(str::to_string),
                    matches!(e, AppError::Internal(_)),
                )
            })
            .or_else(|| {
                err.source::<Arc<AppError>>().map(|e| {
                    (
                        e.code(),
                        e.field().map(str::to_string),
                        matches!(**e, AppError::Internal(_)),
                    )
                })
            });
        let (code, field) = match app_error {
            Some((code, field, internal)) => {
                if internal {
                    tracing::error!(error = ?source_detail(err), "internal error");
                    err.message = "internal error".into();
                }
                (code, field)
            }
            // Errors with some other source come from code we did not expect to fail.
            None if err.source.is_some() => {
                tracing::error!(message = %err.message, "unexpected resolver error");
                err.message = "internal error".into();
                (ErrorCode::Internal, None)
            }
            // No source: the request itself was refused (syntax, unknown field,
            // bad argument type, a query limit).
            None => {
                rename_limit_error(err, limits);
                (ErrorCode::Validation, None)
            }
        };
        METRICS.record_graphql_error(code);
        let ext = err.extensions.get_or_insert_with(ErrorExtensionValues::default);
        ext.set("code", code.as_str());
        if let Some(field) = field {
            ext.set("field", field);
        }
    }
}

fn source_detail(err: &ServerError) -> String {
    let detail = |e: &AppError| match e {
        AppError::Internal(inner) => format!("{inner:#}"),
        other => other.to_string(),
    };
    err.source::<AppError>()
        .map(detail)
        .or_else(|| err.source::<Arc<AppError>>().map(|e| detail(e)))
        .unwrap_or_default()
}

/// async-graphql's limit errors do not say what the limit is.
fn rename_limit_error(err: &mut ServerError, limits: &Limits) {
    match err.message.as_str() {
        "Query is nested too deep." => {
            err.message = format!(
                "query is nested deeper than the limit of {} levels (BILLGRAPH_MAX_QUERY_DEPTH)",
                limits.max_query_depth
            );
        }
        "Query is too complex." => {
            err.message = format!(
                "query complexity exceeds the limit of {} (BILLGRAPH_MAX_QUERY_COMPLEXITY); request smaller pages",
                limits.max_query_complexity
            );
        }
        _ => {}
    }
}
