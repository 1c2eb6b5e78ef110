//! Event ingestion: validate each event, drop repeats within the batch, and
//! store the rest in one idempotent statement. Every event of the batch gets
//! an outcome; a refused event never stops the valid ones.

use std::collections::HashSet;

use chrono::Utc;
use uuid::Uuid;

use diesel_async::AsyncConnection;

use crate::db::{DbPool, connection, events, usage_rollups};
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
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut to_store: Vec<ValidEvent> = Vec::with_capacity(batch.len());
    let mut seen = HashSet::with_capacity(batch.len());
    for (index, raw) in batch.into_iter().enumerate() {
        let given_id = raw.event_id.clone();
        match validate_event(raw, now) {
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
        let mut conn = connection(pool).await?;
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
