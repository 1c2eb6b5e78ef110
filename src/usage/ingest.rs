//! Event ingestion: validate each event, drop repeats within the batch, and
//! store the rest in one idempotent statement. Every event of the batch gets
//! an outcome; a refused event never stops the valid ones.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use uuid::Uuid;

use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::db::{DbPool, connection, customers, events, usage_rollups};
use crate::domain::event::{MAX_BATCH, RawEvent, ValidEvent, validate_event};
use crate::error::{AppError, AppResult};
use crate::telemetry::metrics::METRICS;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Stored now, and committed when the call returns.
    Accepted,
    /// An event with this id was stored before (or earlier in the batch).
    Duplicate,
    Refused(String),
}

#[derive(Debug, Clone)]
pub struct EventOutcome {
    pub index: usize,
    /// None only for refused events that gave no usable id.
    pub event_id: Option<String>,
    pub outcome: Outcome,
}

pub async fn ingest(pool: &DbPool, tenant_id: Uuid, batch: Vec<RawEvent>) -> AppResult<Vec<EventOutcome>> {
    if batch.len() > MAX_BATCH {
        return Err(AppError::validation(
            "events",
            format!("at most {MAX_BATCH} events per call"),
        ));
    }
    let now = Utc::now();
    let mut checked: Vec<(Option<String>, Result<ValidEvent, String>)> = batch
        .into_iter()
        .map(|raw| (raw.event_id.clone(), validate_event(raw, now)))
        .collect();
    let mut conn = None;
    if checked
        .iter()
        .any(|(_, e)| e.as_ref().is_ok_and(|e| e.customer_id.is_some()))
    {
        let conn = conn.insert(connection(pool).await?);
        refuse_mismatched_customers(conn, tenant_id, &mut checked).await?;
    }
    let mut outcomes = Vec::with_capacity(checked.len());
    let mut to_store: Vec<ValidEvent> = Vec::with_capacity(checked.len());
    let mut seen = HashSet::with_capacity(checked.len());
    for (index, (given_id, checked)) in checked.into_iter().enumerate() {
        match checked {
            Err(reason) => outcomes.push(EventOutcome {
                index,
                event_id: given_id,
                outcome: Outcome::Refused(reason),
            }),
            Ok(event) => {
                let outcome = if seen.insert(event.event_id.clone()) {
                    to_store.push(event.clone());
                    Outcome::Accepted
                } else {
                    Outcome::Duplicate
                };
                outcomes.push(EventOutcome {
                    index,
                    event_id: Some(event.event_id),
                    outcome,
                });
            }
        }
    }
    // One order for every batch: two overlapping batches then lock their
    // rows in the same order and cannot deadlock.
    to_store.sort_by(|a, b| a.event_id.cmp(&b.event_id));
    if !to_store.is_empty() {
        let mut conn = match conn {
            Some(conn) => conn,
            None => connection(pool).await?,
        };
        let inserted: HashSet<String> = conn
            .transaction(async |conn| {
                usage_rollups::lock_ingestion(conn, tenant_id, false).await?;
                events::insert_batch(conn, tenant_id, &to_store).await
            })
            .await
            .map_err(AppError::from)?
            .into_iter()
            .collect();
        // Accepted in the batch but not inserted: the tenant had the id already.
        for outcome in &mut outcomes {
            if outcome.outcome == Outcome::Accepted
                && !outcome.event_id.as_ref().is_some_and(|id| inserted.contains(id))
            {
                outcome.outcome = Outcome::Duplicate;
            }
        }
    }
    count_outcomes(&outcomes);
    Ok(outcomes)
}

/// An event that names a customer by id must name the customer its external
/// id belongs to; otherwise its usage would be billed to someone the sender
/// did not mean. One statement for the whole batch.
async fn refuse_mismatched_customers(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    checked: &mut [(Option<String>, Result<ValidEvent, String>)],
) -> AppResult<()> {
    let ids: Vec<Uuid> = checked
        .iter()
        .filter_map(|(_, e)| e.as_ref().ok()?.customer_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let external_ids: HashMap<Uuid, String> = customers::find_by_ids(conn, tenant_id, &ids)
        .await?
        .into_iter()
        .map(|row| (row.id, row.external_customer_id))
        .collect();
    for (_, checked) in checked.iter_mut() {
        let Ok(event) = checked else { continue };
        let Some(customer_id) = event.customer_id else { continue };
        let reason = match external_ids.get(&customer_id) {
            None => format!("customer_id: no customer has the id {customer_id}"),
            Some(external) if *external != event.external_customer_id => format!(
                "customer_id: customer {customer_id} has the external id {external:?}, not {:?}",
                event.external_customer_id
            ),
            Some(_) => continue,
        };
        *checked = Err(reason);
    }
    Ok(())
}

fn count_outcomes(outcomes: &[EventOutcome]) {
    let (mut accepted, mut duplicate, mut refused) = (0, 0, 0);
    for outcome in outcomes {
        match outcome.outcome {
            Outcome::Accepted => accepted += 1,
            Outcome::Duplicate => duplicate += 1,
            Outcome::Refused(_) => refused += 1,
        }
    }
    METRICS.record_events(accepted, duplicate, refused);
}
