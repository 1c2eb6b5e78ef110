//! Tax rates and the rates set on customers. Rates are immutable: changing
//! one means archiving it and creating another, so an invoice finalized
//! with a rate keeps stating what it was charged.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::db::tax_rates::{self, TaxRateRow};
use crate::db::{DbPool, connection};
use crate::error::{AppError, AppResult};

/// Most rates one customer may have set explicitly.
pub const MAX_CUSTOMER_RATES: usize = 20;

/// A new rate, already validated by the domain rules.
#[derive(Debug, Clone)]
pub struct TaxRateDraft {
    pub name: String,
    pub percentage: rust_decimal::Decimal,
    pub inclusive: bool,
    pub country: Option<String>,
    pub state: Option<String>,
    pub description: Option<String>,
}

pub async fn create(pool: &DbPool, tenant_id: Uuid, draft: TaxRateDraft) -> AppResult<TaxRateRow> {
    let mut conn = connection(pool).await?;
    let row = TaxRateRow {
        tenant_id,
        id: Uuid::now_v7(),
        name: draft.name,
        percentage: draft.percentage,
        inclusive: draft.inclusive,
        country: draft.country,
        state: draft.state,
        description: draft.description,
        archived_at: None,
        created_at: Utc::now(),
    };
    Ok(tax_rates::insert(&mut conn, &row).await?)
}

/// Archives the rate: no new invoice is charged it, finalized ones keep it.
/// CONFLICT when already archived.
pub async fn archive(pool: &DbPool, tenant_id: Uuid, id: Uuid) -> AppResult<TaxRateRow> {
    let mut conn = connection(pool).await?;
    if let Some(row) = tax_rates::archive(&mut conn, tenant_id, id).await? {
        return Ok(row);
    }
    match tax_rates::by_ids(&mut conn, tenant_id, &[id]).await?.first() {
        Some(_) => Err(AppError::conflict("tax rate is already archived")),
        None => Err(AppError::not_found("tax rate")),
    }
}

/// Duplicates and overlong lists, before any statement; `field` is the
/// list's path (`input.taxRateIds`).
pub fn check_rate_list(field: &str, ids: &[Uuid]) -> AppResult<()> {
    if ids.len() > MAX_CUSTOMER_RATES {
        return Err(AppError::validation(
            field,
            format!("must hold at most {MAX_CUSTOMER_RATES} rates"),
        ));
    }
    let mut seen = HashSet::new();
    for (i, id) in ids.iter().enumerate() {
        if !seen.insert(id) {
            return Err(AppError::validation(format!("{field}[{i}]"), "is listed twice"));
        }
    }
    Ok(())
}

/// Sets the customer's explicit rates (in the caller's transaction), after
/// checking each is a live rate of the tenant.
pub async fn set_customer_rates(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    customer_id: Uuid,
    field: &str,
    ids: &[Uuid],
) -> AppResult<()> {
    check_rate_list(field, ids)?;
    let found: HashMap<Uuid, TaxRateRow> = tax_rates::by_ids(conn, tenant_id, ids)
        .await?
        .into_iter()
        .map(|r| (r.id, r))
        .collect();
    for (i, id) in ids.iter().enumerate() {
        match found.get(id) {
            None => {
                return Err(AppError::validation(
                    format!("{field}[{i}]"),
                    "is not a tax rate of the tenant",
                ));
            }
            Some(rate) if rate.archived_at.is_some() => {
                return Err(AppError::validation(format!("{field}[{i}]"), "is an archived tax rate"));
            }
            Some(_) => {}
        }
    }
    tax_rates::replace_explicit_rates(conn, tenant_id, customer_id, ids).await?;
    Ok(())
}
