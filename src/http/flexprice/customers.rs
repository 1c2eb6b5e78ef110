//! FlexPrice's customer routes over the customer services GraphQL uses:
//! create, read (by id or external id), update, list and archive.

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::customers;
use crate::db::connection;
use crate::db::customers::{self as rows, CustomerFilter, CustomerRow};
use crate::error::AppError;
use crate::http::flexprice::customer_body::{
    CreateCustomerBody, CustomerResponse, UpdateCustomerBody, check_body_text, customer_id,
};
use crate::http::flexprice::errors::{RestError, RestResult};
use crate::http::flexprice::{RestTenant, read_json};
use crate::state::AppState;

pub async fn create(State(state): State<AppState>, RestTenant(tenant): RestTenant, body: Body) -> RestResult<Response> {
    let body: CreateCustomerBody = read_customer_body(&state, body).await?;
    let draft = body.validate()?;
    let row = customers::create(&state.pool, tenant.id, draft, &state.config.limits)
        .await
        .map_err(as_body_fields)?;
    Ok((StatusCode::CREATED, Json(CustomerResponse::from(row))).into_response())
}

pub async fn get(
    State(state): State<AppState>,
    RestTenant(tenant): RestTenant,
    Path(id): Path<String>,
) -> RestResult<Json<CustomerResponse>> {
    let row = customer_by_id(&state, tenant.id, &id).await?;
    Ok(Json(row.into()))
}

/// The active customer with this external id or, when none is active, the
/// most recently archived one (as customerByExternalId).
pub async fn get_by_external_id(
    State(state): State<AppState>,
    RestTenant(tenant): RestTenant,
    Path(external_id): Path<String>,
) -> RestResult<Json<CustomerResponse>> {
    let mut conn = connection(&state.pool).await?;
    let row = rows::find_by_external_id(&mut conn, tenant.id, external_id.trim())
        .await
        .map_err(AppError::from)?
        .ok_or_else(|| AppError::not_found("customer"))?;
    Ok(Json(row.into()))
}

pub async fn update(
    State(state): State<AppState>,
    RestTenant(tenant): RestTenant,
    Path(id): Path<String>,
    body: Body,
) -> RestResult<Json<CustomerResponse>> {
    let current = customer_by_id(&state, tenant.id, &id).await?;
    update_customer(&state, tenant.id, current, body).await
}

/// Which customer `PUT /v1/customers` changes, as FlexPrice's SDKs name it.
#[derive(Deserialize)]
pub struct WhichCustomer {
    id: Option<String>,
    external_customer_id: Option<String>,
}

/// FlexPrice's SDKs send updates to `PUT /v1/customers?id=...` (or
/// `?external_customer_id=...`).
pub async fn update_by_query(
    State(state): State<AppState>,
    RestTenant(tenant): RestTenant,
    query: Result<Query<WhichCustomer>, QueryRejection>,
    body: Body,
) -> RestResult<Json<CustomerResponse>> {
    let Query(which) = query.map_err(|e| RestError::bad_json(e.body_text()))?;
    let current = match (which.id, which.external_customer_id) {
        (Some(id), _) => customer_by_id(&state, tenant.id, &id).await?,
        (None, Some(external_id)) => {
            let mut conn = connection(&state.pool).await?;
            rows::find_by_external_id(&mut conn, tenant.id, external_id.trim())
                .await
                .map_err(AppError::from)?
                .ok_or_else(|| AppError::not_found("customer"))?
        }
        (None, None) => {
            return Err(RestError::validation(
                "id",
                "name the customer with the id or external_customer_id query parameter",
            ));
        }
    };
    update_customer(&state, tenant.id, current, body).await
}

async fn update_customer(
    state: &AppState,
    tenant_id: Uuid,
    current: CustomerRow,
    body: Body,
) -> RestResult<Json<CustomerResponse>> {
    let body: UpdateCustomerBody = read_customer_body(state, body).await?;
    let patch = body.validate(&current)?;
    let row = customers::update(&state.pool, tenant_id, current.id, patch)
        .await
        .map_err(as_body_fields)?;
    Ok(Json(row.into()))
}

#[derive(Deserialize)]
pub struct ListParams {
    limit: Option<i64>,
    offset: Option<i64>,
    external_id: Option<String>,
}

/// FlexPrice's list: `items` in creation order and `pagination` with the
/// limit, offset and total of the filter.
pub async fn list(
    State(state): State<AppState>,
    RestTenant(tenant): RestTenant,
    query: Result<Query<ListParams>, QueryRejection>,
) -> RestResult<Json<Value>> {
    let Query(params) = query.map_err(|e| RestError::bad_json(e.body_text()))?;
    let limits = &state.config.limits;
    let max = limits.max_page_size as i64;
    let limit = match params.limit {
        None => limits.default_page_size as i64,
        Some(n) if (1..=max).contains(&n) => n,
        Some(_) => return Err(RestError::validation("limit", format!("must be between 1 and {max}"))),
    };
    let offset = match params.offset {
        None => 0,
        Some(n) if n >= 0 => n,
        Some(_) => return Err(RestError::validation("offset", "must not be negative")),
    };
    let filter = CustomerFilter {
        external_customer_id: params.external_id.map(|id| id.trim().to_owned()),
        ..Default::default()
    };
    let mut conn = connection(&state.pool).await?;
    let items = rows::list_from_offset(&mut conn, tenant.id, &filter, offset, limit)
        .await
        .map_err(AppError::from)?;
    let total = rows::count(&mut conn, tenant.id, &filter)
        .await
        .map_err(AppError::from)?;
    let items: Vec<CustomerResponse> = items.into_iter().map(Into::into).collect();
    Ok(Json(json!({
        "items": items,
        "pagination": { "limit": limit, "offset": offset, "total": total },
    })))
}

/// Archives the customer (as archiveCustomer, with the same refusals) and
/// answers 204, as FlexPrice's delete does.
pub async fn archive(
    State(state): State<AppState>,
    RestTenant(tenant): RestTenant,
    Path(id): Path<String>,
) -> RestResult<StatusCode> {
    let id = customer_id("id", &id).map_err(|_| AppError::not_found("customer"))?;
    customers::archive(&state.pool, tenant.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An id that is not a UUID names no customer: NOT_FOUND, like another
/// tenant's id.
async fn customer_by_id(state: &AppState, tenant_id: Uuid, id: &str) -> RestResult<CustomerRow> {
    let id = customer_id("id", id).map_err(|_| AppError::not_found("customer"))?;
    let mut conn = connection(&state.pool).await?;
    let row = rows::find_by_ids(&mut conn, tenant_id, &[id])
        .await
        .map_err(AppError::from)?
        .pop()
        .ok_or_else(|| AppError::not_found("customer"))?;
    Ok(row)
}

async fn read_customer_body<T: DeserializeOwned>(state: &AppState, body: Body) -> RestResult<T> {
    let value: Value = read_json(state, body, "customer").await?;
    if !value.is_object() {
        return Err(RestError::bad_json("invalid customer: expected a JSON object"));
    }
    check_body_text(&value)?;
    serde_json::from_value(value).map_err(|e| RestError::bad_json(format!("invalid customer: {e}")))
}

/// The customer services name the fields they check (the parent, merged
/// metadata) as GraphQL's input spells them; a REST client gets them as its
/// body does.
fn as_body_fields(err: AppError) -> AppError {
    let AppError::Validation(mut refusal) = err else {
        return err;
    };
    for (graphql, body) in [
        ("input.parentCustomerId", "parent_customer_id"),
        ("input.metadata", "metadata"),
    ] {
        if let Some(rest) = refusal.field.strip_prefix(graphql) {
            refusal.field = format!("{body}{rest}");
            break;
        }
    }
    AppError::Validation(refusal)
}
