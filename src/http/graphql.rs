//! POST /graphql runs a query for the key's tenant; GET /graphql is GraphiQL.

use std::sync::Arc;

use axum::Extension;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::config::Limits;
use crate::error::ErrorCode;
use crate::graphql::BillgraphSchema;
use crate::graphql::batching::{dispatch_queue, run_with_dispatches};
use crate::graphql::context::RequestContext;
use crate::graphql::errors::finish_errors;
use crate::graphql::input_rules;
use crate::graphql::operation_name::operation_name;
use crate::http::auth::Tenant;
use crate::http::body::read_body;
use crate::http::problem::error_response;
use crate::http::request_log::RequestFacts;
use crate::state::AppState;
use crate::telemetry::metrics::METRICS;

pub async fn graphiql() -> Html<String> {
    Html(
        async_graphql::http::GraphiQLSource::build()
            .endpoint("/graphql")
            .title("billgraph")
            .finish(),
    )
}

pub async fn execute(
    State(state): State<AppState>,
    Extension(schema): Extension<BillgraphSchema>,
    facts: Option<Extension<Arc<RequestFacts>>>,
    tenant: Tenant,
    body: Body,
) -> Response {
    let limits = &state.config.limits;
    let bytes = match read_body(body, limits).await {
        Ok(b) => b,
        Err(refusal) => return refusal,
    };
    let mut request: async_graphql::Request = match serde_json::from_slice(&bytes) {
        Ok(r) => r,
        Err(e) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                ErrorCode::Validation,
                &format!("request body is not a GraphQL request: {e}"),
            );
        }
    };
    if let (Some(Extension(facts)), Some(name)) =
        (facts, operation_name(request.operation_name.as_deref(), &request.query))
    {
        facts.set_operation(name.to_owned());
    }
    if let Some(refused) = input_rules::refusal(&mut request) {
        return finished(async_graphql::Response::from_errors(vec![refused]), limits);
    }
    let (queue, dispatches) = dispatch_queue();
    let request = request.data(RequestContext::new(&state, tenant.id, queue));
    let run = run_with_dispatches(schema.execute(request), dispatches);
    match tokio::time::timeout(limits.request_timeout, run).await {
        Ok(response) => finished(response, limits),
        Err(_) => {
            METRICS.record_graphql_error(ErrorCode::Timeout);
            error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Timeout,
                &format!(
                    "request exceeded the timeout of {} s (BILLGRAPH_REQUEST_TIMEOUT_SECS)",
                    limits.request_timeout.as_secs()
                ),
            )
        }
    }
}

fn finished(mut response: async_graphql::Response, limits: &Limits) -> Response {
    finish_errors(&mut response.errors, limits);
    async_graphql_axum::GraphQLResponse::from(response).into_response()
}
