//! /graphql, spoken as the GraphQL over HTTP specification describes:
//! POST runs any operation; GET runs queries for clients that accept JSON
//! and shows GraphiQL to a browser. The Accept header chooses between
//! `application/json` and `application/graphql-response+json`.

use std::sync::Arc;

use async_graphql::ServerError;
use async_graphql::parser::types::OperationType;
use axum::Extension;
use axum::body::Body;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

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
use crate::http::graphiql;
use crate::http::negotiation::{ResponseType, is_json_body, wants_page};
use crate::http::problem::error_response;
use crate::http::request_log::RequestFacts;
use crate::http::response_json::ResponseBody;
use crate::state::AppState;
use crate::telemetry::metrics::METRICS;

pub async fn get(
    State(state): State<AppState>,
    Extension(schema): Extension<BillgraphSchema>,
    mut parts: Parts,
) -> Response {
    let accept = header_str(&parts.headers, header::ACCEPT);
    if wants_page(accept) {
        return graphiql::page(&state);
    }
    let answer = ResponseType::from_accept(accept);
    let mut request = match request_from_query(parts.uri.query().unwrap_or("")) {
        Ok(request) => request,
        Err(message) => return bad_request(&message),
    };
    if changes_data(&mut request) {
        // GET must be safe: caches, prefetchers and crawlers repeat it.
        let mut refused = error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::Validation,
            "mutations are sent with POST; GET runs queries only",
        );
        refused
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return refused;
    }
    let tenant = match Tenant::from_request_parts(&mut parts, &state).await {
        Ok(tenant) => tenant,
        Err(refusal) => return refusal,
    };
    let facts = parts.extensions.get::<Arc<RequestFacts>>().cloned();
    run(&state, &schema, tenant, request, answer, facts).await
}

pub async fn post(
    State(state): State<AppState>,
    Extension(schema): Extension<BillgraphSchema>,
    headers: HeaderMap,
    facts: Option<Extension<Arc<RequestFacts>>>,
    tenant: Tenant,
    body: Body,
) -> Response {
    if !is_json_body(header_str(&headers, header::CONTENT_TYPE)) {
        return error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::Validation,
            "send the GraphQL request as JSON with Content-Type: application/json",
        );
    }
    let answer = ResponseType::from_accept(header_str(&headers, header::ACCEPT));
    let bytes = match read_body(body, &state.config.limits).await {
        Ok(b) => b,
        Err(refusal) => return refusal,
    };
    let request = match serde_json::from_slice::<Value>(&bytes) {
        Ok(json) => request_from_json(json),
        Err(e) => Err(format!("request body is not a GraphQL request: {e}")),
    };
    match request {
        Ok(request) => run(&state, &schema, tenant, request, answer, facts.map(|Extension(f)| f)).await,
        Err(message) => bad_request(&message),
    }
}

async fn run(
    state: &AppState,
    schema: &BillgraphSchema,
    tenant: Tenant,
    mut request: async_graphql::Request,
    answer: ResponseType,
    facts: Option<Arc<RequestFacts>>,
) -> Response {
    let limits = &state.config.limits;
    if let (Some(facts), Some(name)) = (facts, operation_name(request.operation_name.as_deref(), &request.query)) {
        facts.set_operation(name.to_owned());
    }
    if let Some(refused) = input_rules::refusal(&mut request).or_else(|| missing_variable(&mut request)) {
        return finished(async_graphql::Response::from_errors(vec![refused]), limits, answer);
    }
    let read_only = is_query(&mut request);
    let (queue, dispatches) = dispatch_queue();
    let request = request.data(RequestContext::new(state, tenant.id, queue, read_only));
    let run = run_with_dispatches(schema.execute(request), dispatches);
    match tokio::time::timeout(limits.request_timeout, run).await {
        Ok(response) => finished(response, limits, answer),
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

/// A request error (the document did not parse or validate, or its
/// variables did not fit) stopped the request before execution: the answer
/// has no `data`, and is a 400 for clients that read status codes.
fn finished(mut response: async_graphql::Response, limits: &Limits, answer: ResponseType) -> Response {
    finish_errors(&mut response.errors, limits);
    let not_executed = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let status = match answer {
        ResponseType::GraphqlResponseJson if not_executed => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    };
    let body = serde_json::to_vec(&ResponseBody::of(&response, not_executed)).unwrap_or_default();
    let mut http = (status, body).into_response();
    let headers = http.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(answer.content_type()));
    if response.is_ok()
        && let Some(cache_control) = response.cache_control.value()
        && let Ok(value) = HeaderValue::from_str(&cache_control)
    {
        headers.insert(header::CACHE_CONTROL, value);
    }
    headers.extend(response.http_headers);
    http
}

/// A POST body's parameters: `query` a string, `operationName` a string,
/// `variables` and `extensions` maps; each but `query` may be null.
fn request_from_json(json: Value) -> Result<async_graphql::Request, String> {
    let Value::Object(mut fields) = json else {
        return Err("the request body must be a JSON object with a query".into());
    };
    fields.retain(|_, value| !value.is_null());
    match fields.get("query") {
        Some(Value::String(_)) => {}
        Some(_) => return Err("query must be a string".into()),
        None => return Err("the request has no query".into()),
    }
    if fields.get("operationName").is_some_and(|v| !v.is_string()) {
        return Err("operationName must be a string".into());
    }
    for map in ["variables", "extensions"] {
        if fields.get(map).is_some_and(|v| !v.is_object()) {
            return Err(format!("{map} must be a JSON object"));
        }
    }
    serde_json::from_value(Value::Object(fields)).map_err(|e| format!("request body is not a GraphQL request: {e}"))
}

/// A GET's parameters, from the URL query: `variables` and `extensions`
/// are JSON text.
fn request_from_query(query: &str) -> Result<async_graphql::Request, String> {
    let mut fields = serde_json::Map::new();
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let value = match name.as_ref() {
            "query" | "operationName" => Value::String(value.into_owned()),
            "variables" | "extensions" => {
                serde_json::from_str(&value).map_err(|e| format!("{name} is not JSON: {e}"))?
            }
            _ => continue,
        };
        fields.insert(name.into_owned(), value);
    }
    request_from_json(Value::Object(fields))
}

/// Whether the operation the request selects is a mutation (or a
/// subscription). A document that does not parse is left to execution,
/// which answers with the parser's error.
fn changes_data(request: &mut async_graphql::Request) -> bool {
    operation_type(request).is_some_and(|ty| ty != OperationType::Query)
}

/// Whether the operation that runs is a query (no mutation).
fn is_query(request: &mut async_graphql::Request) -> bool {
    operation_type(request) == Some(OperationType::Query)
}

/// The type of the operation the request selects; None when the document
/// does not parse or names no single operation. The parsed document stays
/// on the request for execution.
fn operation_type(request: &mut async_graphql::Request) -> Option<OperationType> {
    let operation_name = request.operation_name.clone();
    let doc = request.parsed_query().ok()?;
    selected_operation(doc, operation_name.as_deref()).map(|op| op.ty)
}

/// A required variable without a value stops the request before it runs,
/// as the specification's variable coercion does; async-graphql would only
/// notice it at the first field that reads it, and answer with data.
fn missing_variable(request: &mut async_graphql::Request) -> Option<ServerError> {
    let operation_name = request.operation_name.clone();
    let variables = request.variables.clone();
    let doc = request.parsed_query().ok()?;
    let operation = selected_operation(doc, operation_name.as_deref())?;
    operation.variable_definitions.iter().find_map(|definition| {
        let definition = &definition.node;
        let required = !definition.var_type.node.nullable && definition.default_value.is_none();
        let given = variables
            .get(&definition.name.node)
            .is_some_and(|value| *value != async_graphql::Value::Null);
        (required && !given).then(|| {
            ServerError::new(
                format!(
                    "variable ${} of required type {} has no value",
                    definition.name.node, definition.var_type.node
                ),
                Some(definition.name.pos),
            )
        })
    })
}

fn selected_operation<'a>(
    doc: &'a async_graphql::parser::types::ExecutableDocument,
    name: Option<&str>,
) -> Option<&'a async_graphql::parser::types::OperationDefinition> {
    use async_graphql::parser::types::DocumentOperations;
    let selected = match &doc.operations {
        DocumentOperations::Single(op) => Some(op),
        DocumentOperations::Multiple(ops) => match name {
            Some(name) => ops.get(name),
            None if ops.len() == 1 => ops.values().next(),
            None => None,
        },
    };
    selected.map(|op| &op.node)
}

fn bad_request(message: &str) -> Response {
    error_response(StatusCode::BAD_REQUEST, ErrorCode::Validation, message)
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}
