//! Creating and archiving meters.

use chrono::Utc;
use uuid::Uuid;

use crate::db::meters::{self, MeterRow};
use crate::domain::stored::RecordStatus;
use diesel_async::AsyncConnection;

use crate::db::{DbPool, connection, usage_rollups};
use crate::domain::meter::{Aggregation, MeterFilter};
use crate::error::{AppError, AppResult};

/// A validated meter definition.
#[derive(Debug, Clone)]
pub struct MeterDraft {
    pub name: String,
    pub event_name: String,
    pub aggregation: Aggregation,
    pub property: Option<String>,
    pub filters: Vec<MeterFilter>,
}

pub fn filters_to_json(filters: &[MeterFilter]) -> serde_json::Value {
    serde_json::Value::Array(
        filters
            .iter()
            .map(|f| serde_json::json!({ "key": f.key, "values": f.values }))
            .collect(),
    )
}

/// Filters as stored; the database only holds what `filters_to_json` wrote.
pub fn filters_from_json(value: &serde_json::Value) -> Vec<MeterFilter> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|f| {
                    Some(MeterFilter {
                        key: f.get("key")?.as_str()?.to_string(),
                        values: f
                            .get("values")?
                            .as_array()?
                            .iter()
                            .filter_map(|v| Some(v.as_str()?.to_string()))
                            .collect(),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

pub async fn create(pool: &DbPool, tenant_id: Uuid, draft: MeterDraft) -> AppResult<MeterRow> {
    let mut conn = connection(pool).await?;
    let row = MeterRow {
        tenant_id,
        id: Uuid::now_v7(),
        name: draft.name,
        event_name: draft.event_name,
        aggregation: draft.aggregation,
        property: draft.property,
        filters: filters_to_json(&draft.filters),
        status: RecordStatus::Active,
        created_at: Utc::now(),
        archived_at: None,
    };
    // The meter counts the events it finds already stored: their rollups are
    // written now, while ingestion waits.
    conn.transaction(async |conn| {
        usage_rollups::lock_ingestion(conn, tenant_id, true).await?;
        let meter = meters::insert(conn, &row).await?;
        usage_rollups::backfill_meter(conn, tenant_id, meter.id).await?;
        Ok(meter)
    })
    .await
}

/// Archived meters keep their definition and past usage but are left out
/// of usage queries that name no meters.
pub async fn archive(pool: &DbPool, tenant_id: Uuid, id: Uuid) -> AppResult<MeterRow> {
    let mut conn = connection(pool).await?;
    meters::archive(&mut conn, tenant_id, id)
        .await?
        .ok_or_else(|| AppError::not_found("meter"))
}
