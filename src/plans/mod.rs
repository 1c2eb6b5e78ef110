//! Plans and prices: validated drafts in, committed rows out. A plan and its
//! first prices are created in one transaction.

pub mod model_json;

use chrono::Utc;
use diesel_async::AsyncConnection;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::db::errors::unique_violation;
use crate::db::plans::{self, LOOKUP_KEY_INDEX, PlanRow, PriceRow};
use crate::db::{DbPool, connection, meters};
pub use crate::domain::charges::InvoiceCadence;
use crate::domain::charges::{PriceTerms, PriceType, Proration};
use crate::domain::money::Currency;
use crate::domain::period::Cadence;
use crate::domain::pricing::BillingModel;
use crate::domain::stored::RecordStatus;
use crate::error::{AppError, AppResult};

#[derive(Debug, Clone)]
pub enum PriceKind {
    Fixed {
        amount: Decimal,
        cadence: InvoiceCadence,
        quantity: Decimal,
        proration: Proration,
    },
    Usage {
        meter_id: Uuid,
        model: BillingModel,
    },
}

/// A validated price; `field` names its place in the input for errors that
/// only the database can detect (an unknown meter).
#[derive(Debug, Clone)]
pub struct PriceDraft {
    pub field: String,
    pub currency: Currency,
    pub cadence: Cadence,
    pub kind: PriceKind,
}

#[derive(Debug, Clone)]
pub struct PlanDraft {
    pub name: String,
    pub lookup_key: Option<String>,
    pub description: Option<String>,
    pub prices: Vec<PriceDraft>,
}

fn price_row(tenant_id: Uuid, plan_id: Uuid, draft: &PriceDraft) -> PriceRow {
    let base = PriceRow {
        tenant_id,
        id: Uuid::now_v7(),
        plan_id,
        currency: draft.currency,
        billing_period: draft.cadence.unit,
        billing_period_count: draft.cadence.count as i32,
        price_type: match draft.kind {
            PriceKind::Fixed { .. } => PriceType::Fixed,
            PriceKind::Usage { .. } => PriceType::Usage,
        },
        amount: None,
        invoice_cadence: None,
        quantity: None,
        proration: None,
        meter_id: None,
        billing_model: None,
        model: None,
        status: RecordStatus::Active,
        created_at: Utc::now(),
        archived_at: None,
    };
    match &draft.kind {
        PriceKind::Fixed {
            amount,
            cadence,
            quantity,
            proration,
        } => PriceRow {
            amount: Some(*amount),
            invoice_cadence: Some(*cadence),
            quantity: Some(*quantity),
            proration: Some(*proration),
            ..base
        },
        PriceKind::Usage { meter_id, model } => PriceRow {
            meter_id: Some(*meter_id),
            billing_model: Some(model.kind()),
            model: Some(model_json::to_json(model)),
            ..base
        },
    }
}

/// Usage prices must name a meter of the tenant.
async fn check_meters(
    conn: &mut diesel_async::AsyncPgConnection,
    tenant_id: Uuid,
    drafts: &[PriceDraft],
) -> AppResult<()> {
    let ids: Vec<Uuid> = drafts
        .iter()
        .filter_map(|d| match d.kind {
            PriceKind::Usage { meter_id, .. } => Some(meter_id),
            PriceKind::Fixed { .. } => None,
        })
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let found: Vec<Uuid> = meters::find_by_ids(conn, tenant_id, &ids)
        .await?
        .into_iter()
        .map(|m| m.id)
        .collect();
    for draft in drafts {
        if let PriceKind::Usage { meter_id, .. } = draft.kind
            && !found.contains(&meter_id)
        {
            return Err(AppError::validation(
                format!("{}.meterId", draft.field),
                "no such meter",
            ));
        }
    }
    Ok(())
}

pub async fn create_plan(pool: &DbPool, tenant_id: Uuid, draft: PlanDraft) -> AppResult<(PlanRow, Vec<PriceRow>)> {
    let mut conn = connection(pool).await?;
    conn.transaction(async |conn| {
        check_meters(conn, tenant_id, &draft.prices).await?;
        let now = Utc::now();
        let plan = PlanRow {
            tenant_id,
            id: Uuid::now_v7(),
            name: draft.name.clone(),
            lookup_key: draft.lookup_key.clone(),
            description: draft.description.clone(),
            status: RecordStatus::Active,
            created_at: now,
            updated_at: now,
        };
        let plan = plans::insert_plan(conn, &plan)
            .await
            .map_err(|e| match unique_violation(&e) {
                Some(LOOKUP_KEY_INDEX) => AppError::conflict(format!(
                    "a plan with lookupKey {:?} already exists",
                    draft.lookup_key.as_deref().unwrap_or_default()
                )),
                _ => AppError::from(e),
            })?;
        let rows: Vec<PriceRow> = draft.prices.iter().map(|p| price_row(tenant_id, plan.id, p)).collect();
        let prices = plans::insert_prices(conn, &rows).await?;
        Ok((plan, prices))
    })
    .await
}

pub async fn add_price(pool: &DbPool, tenant_id: Uuid, plan_id: Uuid, draft: PriceDraft) -> AppResult<PriceRow> {
    let mut conn = connection(pool).await?;
    conn.transaction(async |conn| {
        let plan = plans::plan_for_update(conn, tenant_id, plan_id)
            .await?
            .ok_or_else(|| AppError::not_found("plan"))?;
        if plan.status != RecordStatus::Active {
            return Err(AppError::conflict("plan is archived"));
        }
        check_meters(conn, tenant_id, std::slice::from_ref(&draft)).await?;
        let terms = (draft.currency, draft.cadence.unit, draft.cadence.count as i32);
        let live = crate::db::subscriptions::live_terms_of_plan(conn, tenant_id, plan_id, Utc::now()).await?;
        if live.iter().any(|t| *t != terms) {
            return Err(AppError::conflict(
                "the plan has subscriptions in another currency or billing period; this price would never bill them",
            ));
        }
        let mut rows = plans::insert_prices(conn, &[price_row(tenant_id, plan_id, &draft)]).await?;
        Ok(rows.remove(0))
    })
    .await
}

/// Archived prices stay on the plan (and on past invoices) but no longer bill.
pub async fn archive_price(pool: &DbPool, tenant_id: Uuid, id: Uuid) -> AppResult<PriceRow> {
    let mut conn = connection(pool).await?;
    plans::archive_price(&mut conn, tenant_id, id)
        .await?
        .ok_or_else(|| AppError::not_found("price"))
}

/// A stored price as the charge rules see it; None only for a row that the
/// price rules did not write (a usage price whose model does not parse).
pub fn price_terms(row: &PriceRow) -> Option<PriceTerms> {
    match (row.meter_id, row.billing_model, row.model.as_ref()) {
        (Some(meter_id), Some(kind), Some(model)) => Some(PriceTerms::Usage {
            meter_id,
            model: model_json::from_json(kind, model)?,
        }),
        _ => Some(PriceTerms::Fixed {
            amount: row.amount?,
            quantity: row.quantity.unwrap_or(Decimal::ONE),
            in_advance: row.invoice_cadence != Some(InvoiceCadence::Arrear),
            // Written for every fixed price (a check constraint holds it).
            proration: row.proration.unwrap_or(Proration::FullPeriod),
        }),
    }
}
