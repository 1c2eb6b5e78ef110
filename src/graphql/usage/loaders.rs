//! DataLoaders of meters and usage.

use std::collections::HashMap;
use std::hash::Hash;

use async_graphql::dataloader::Loader;
use chrono::{DateTime, Utc};
use futures_util::future::try_join_all;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::db::meters::{self, MeterRow};
use crate::db::usage::{self, QuantityRequest, UsageRange, UsageRow, UsageSpec};
use crate::domain::meter::Aggregation;
use crate::domain::usage::Window;
use crate::error::SharedError;
use crate::graphql::loaders::{TenantLoader, rows_by_id, shared};
use crate::graphql::usage::meter_usage::UsageWindowValue;
use crate::graphql::usage::primer::{MeterTotals, Promise};

rows_by_id! {
    MeterById => MeterRow, meters::find_by_ids
}

/// What a usage field asks for; customers asking the same share a statement.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UsageQuery {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Sorted; empty means every active meter.
    pub meter_ids: Vec<Uuid>,
    pub include_children: bool,
    pub window: Option<Window>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UsageOf {
    pub customer_id: Uuid,
    pub query: UsageQuery,
}

/// A customer's usage of one meter.
#[derive(Debug, Clone)]
pub struct UsageTotals {
    pub aggregation: Aggregation,
    pub value: Option<Decimal>,
    pub event_count: i64,
    pub skipped: i64,
    pub windows: Vec<UsageWindowValue>,
}

impl Loader<UsageOf> for TenantLoader {
    /// Per meter, in meter id order.
    type Value = MeterTotals;
    type Error = SharedError;

    async fn load(&self, keys: &[UsageOf]) -> Result<HashMap<UsageOf, Self::Value>, SharedError> {
        let mut by_query: HashMap<&UsageQuery, Vec<Uuid>> = HashMap::new();
        for key in keys {
            by_query.entry(&key.query).or_default().push(key.customer_id);
        }
        // Promised before any statement runs, so that children asking
        // meanwhile wait for it rather than read the same events again.
        let promises: Vec<Option<Promise>> = by_query
            .iter()
            .map(|(query, customer_ids)| {
                let primer = self.usage_primer().filter(|_| query.include_children)?;
                Some(primer.promise(customer_ids, query))
            })
            .collect();
        let mut out = HashMap::with_capacity(keys.len());
        for ((query, customer_ids), promise) in by_query.into_iter().zip(promises) {
            let usage = self.usage_of(query, &customer_ids, promise.is_some()).await?;
            for customer_id in &customer_ids {
                out.insert(
                    UsageOf {
                        customer_id: *customer_id,
                        query: query.clone(),
                    },
                    usage.get(customer_id).cloned().unwrap_or_default(),
                );
            }
            // The given customers too: a page listing parents and children
            // side by side also finds the children here.
            if let Some(promise) = promise {
                promise.keep(usage);
            }
        }
        Ok(out)
    }
}

/// How many statements share a batch of customers' usage, at most (and at
/// most the request's budget of connections, and only while no other heavy
/// statement runs: see [`HeavyStatements`]): each takes a part of the
/// customers, with their subtrees and primed children, so no stretch is
/// read twice. One statement runs on one core; on the two-core machine
/// measured, two halves side by side answered the bench's page B in 58 ms
/// instead of 106-139 ms alone.
///
/// [`HeavyStatements`]: crate::graphql::connections::HeavyStatements
const USAGE_PARTS: usize = 2;

impl TenantLoader {
    /// The usage of `customer_ids` under `query` (with `prime_children`,
    /// also of their first children), per customer.
    async fn usage_of(
        &self,
        query: &UsageQuery,
        customer_ids: &[Uuid],
        prime_children: bool,
    ) -> Result<HashMap<Uuid, MeterTotals>, SharedError> {
        // Read once, so every part reports the same meters.
        let meters = usage::meters_to_report(&mut *self.conn().await?, self.tenant_id(), &query.meter_ids)
            .await
            .map_err(shared)?;
        if meters.is_empty() || customer_ids.is_empty() {
            return Ok(HashMap::new());
        }
        // Held until every part has answered.
        let heavy = self.claim_heavy(USAGE_PARTS);
        let part_size = customer_ids.len().div_ceil(heavy.parts());
        let answers = try_join_all(customer_ids.chunks(part_size).map(|part| {
            let meters = &meters;
            async move {
                let ranges: Vec<UsageRange> = (1..)
                    .zip(part)
                    .map(|(group, customer_id)| UsageRange {
                        group,
                        customer_id: *customer_id,
                        from: query.from,
                        to: query.to,
                    })
                    .collect();
                let spec = UsageSpec {
                    ranges: &ranges,
                    meter_ids: &query.meter_ids,
                    include_children: query.include_children,
                    window: query.window.map(Window::date_trunc_unit),
                    prime_children,
                };
                let mut conn = self.conn().await?;
                usage::aggregate_for(&mut conn, self.tenant_id(), &spec, meters)
                    .await
                    .map_err(shared)
            }
        }))
        .await?;
        drop(heavy);
        let mut by_customer = HashMap::new();
        for rows in answers {
            by_customer.extend(totals_by_customer(rows, query.window));
        }
        Ok(by_customer)
    }
}

/// The statement's rows, per customer (each group has its own): its usage
/// per meter.
fn totals_by_customer(rows: Vec<UsageRow>, window: Option<Window>) -> HashMap<Uuid, MeterTotals> {
    let mut by_customer: HashMap<Uuid, MeterTotals> = HashMap::new();
    // Rows come ordered by group, meter, then the total before its windows.
    for row in rows {
        let list = by_customer.entry(row.customer_id).or_default();
        match row.bucket {
            None => list.push((
                row.meter_id,
                UsageTotals {
                    aggregation: row.aggregation,
                    value: usage::parse_value(row.value.as_deref()),
                    event_count: row.event_count,
                    skipped: row.skipped,
                    windows: Vec::new(),
                },
            )),
            Some(start) => {
                if let Some((_, totals)) = list.last_mut().filter(|(m, _)| *m == row.meter_id) {
                    let window = window.unwrap_or(Window::Day);
                    totals.windows.push(UsageWindowValue {
                        start,
                        end: window.bucket_end(start),
                        value: usage::parse_value(row.value.as_deref()),
                        event_count: row.event_count,
                    });
                }
            }
        }
    }
    by_customer
}

/// Usage of one customer (not its subtree) over stretches of time that are
/// added up: a billing period minus its pauses. Keys with different
/// stretches still share one statement.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BillableUsage {
    pub customer_id: Uuid,
    /// Sorted, disjoint, half-open.
    pub intervals: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    /// Sorted, deduplicated.
    pub meter_ids: Vec<Uuid>,
}

impl Loader<BillableUsage> for TenantLoader {
    /// The quantity per meter (0 when nothing was used).
    type Value = HashMap<Uuid, Decimal>;
    type Error = SharedError;

    async fn load(&self, keys: &[BillableUsage]) -> Result<HashMap<BillableUsage, Self::Value>, SharedError> {
        let requests: Vec<QuantityRequest> = keys
            .iter()
            .map(|k| QuantityRequest {
                customer_id: k.customer_id,
                intervals: &k.intervals,
                meter_ids: &k.meter_ids,
            })
            .collect();
        let quantities = usage::quantities(&mut *self.conn().await?, self.tenant_id(), &requests)
            .await
            .map_err(shared)?;
        Ok(keys.iter().cloned().zip(quantities).collect())
    }
}
