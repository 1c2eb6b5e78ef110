//! DataLoaders: every relation a resolver follows is batched here into one
//! statement per kind of relation, whatever the number of parents.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::db::customers::{self, CustomerRow};
use crate::db::hierarchy::{self, IndexedRow, PageKey};
use crate::db::integrations::{self, IntegrationRow};
use crate::db::meters::{self, MeterRow};
use crate::db::plans::{self, PlanRow, PriceRow};
use crate::db::subscriptions::{self, PauseRow, SubscriptionPageKey, SubscriptionRow};
use crate::db::usage::{self, QuantityRequest, UsageRange, UsageSpec};
use crate::domain::meter::Aggregation;
use crate::domain::usage::Window;
use crate::error::{AppError, SharedError};
use crate::graphql::connections::{RequestConn, RequestConnections};
use crate::graphql::types::usage::UsageWindowValue;

/// Loads rows of one tenant; the tenant is fixed when the request starts.
pub struct TenantLoader {
    connections: Arc<RequestConnections>,
    tenant_id: Uuid,
    /// The request's clock, for rows whose state depends on time.
    now: DateTime<Utc>,
}

impl TenantLoader {
    pub fn new(connections: Arc<RequestConnections>, tenant_id: Uuid, now: DateTime<Utc>) -> Self {
        TenantLoader {
            connections,
            tenant_id,
            now,
        }
    }

    /// A connection of the request's budget, for one dispatch's statements.
    pub(crate) async fn conn(&self) -> Result<RequestConn, SharedError> {
        self.connections.get().await.map_err(SharedError::new)
    }

    pub(crate) fn tenant_id(&self) -> Uuid {
        self.tenant_id
    }

    /// The request's clock.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.now
    }
}

pub(crate) fn shared(err: diesel::result::Error) -> SharedError {
    SharedError::new(AppError::from(err))
}

/// Declares the key `$key(Uuid)` and its loader: the rows with those ids,
/// read by `$query(conn, tenant_id, &ids)` in one statement.
macro_rules! rows_by_id {
    ($(#[$meta:meta])* $key:ident => $row:ty, $query:path) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $key(pub ::uuid::Uuid);

        impl ::async_graphql::dataloader::Loader<$key> for $crate::graphql::loaders::TenantLoader {
            type Value = $row;
            type Error = $crate::error::SharedError;

            async fn load(
                &self,
                keys: &[$key],
            ) -> Result<::std::collections::HashMap<$key, $row>, $crate::error::SharedError> {
                let ids: Vec<::uuid::Uuid> = keys.iter().map(|k| k.0).collect();
                let rows = $query(&mut *self.conn().await?, self.tenant_id(), &ids)
                    .await
                    .map_err($crate::graphql::loaders::shared)?;
                Ok(rows.into_iter().map(|r| ($key(r.id), r)).collect())
            }
        }
    };
}

/// Declares the key `$key(Uuid)` and its loader: for each parent id, the
/// rows whose `$parent` field holds it, in the order `$query(conn,
/// tenant_id, &ids)` returns them, all in one statement.
macro_rules! rows_of_parent {
    ($(#[$meta:meta])* $key:ident => $row:ty, $query:path, $parent:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $key(pub ::uuid::Uuid);

        impl ::async_graphql::dataloader::Loader<$key> for $crate::graphql::loaders::TenantLoader {
            type Value = Vec<$row>;
            type Error = $crate::error::SharedError;

            async fn load(
                &self,
                keys: &[$key],
            ) -> Result<::std::collections::HashMap<$key, Vec<$row>>, $crate::error::SharedError> {
                let ids: Vec<::uuid::Uuid> = keys.iter().map(|k| k.0).collect();
                let rows = $query(&mut *self.conn().await?, self.tenant_id(), &ids)
                    .await
                    .map_err($crate::graphql::loaders::shared)?;
                Ok($crate::graphql::loaders::grouped(
                    keys,
                    rows.into_iter().map(|r| ($key(r.$parent), r)),
                ))
            }
        }
    };
}

pub(crate) use {rows_by_id, rows_of_parent};

rows_by_id! {
    CustomerById => CustomerRow, customers::find_by_ids
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChildrenPage(pub PageKey);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DescendantsPage(pub PageKey);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChildCount(pub Uuid);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DescendantCount(pub Uuid);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AncestorsOf(pub Uuid);

rows_of_parent! {
    IntegrationsOf => IntegrationRow, integrations::for_customers, customer_id
}

/// Groups page rows back under the key that asked for them.
fn pages_by_key<K: Copy + Eq + Hash>(keys: &[K], rows: Vec<IndexedRow>) -> HashMap<K, Vec<CustomerRow>> {
    grouped_by_position(keys, rows.into_iter().map(|row| (row.idx, row.customer)))
}

/// Values grouped under their keys; every key gets a list, empty when no
/// value belongs to it (a loader must answer every key it was asked).
pub(crate) fn grouped<K: Copy + Eq + Hash, V>(
    keys: &[K],
    pairs: impl IntoIterator<Item = (K, V)>,
) -> HashMap<K, Vec<V>> {
    let mut out: HashMap<K, Vec<V>> = keys.iter().map(|k| (*k, Vec::new())).collect();
    for (key, value) in pairs {
        out.entry(key).or_default().push(value);
    }
    out
}

/// Values grouped under the key at their 1-based position in `keys` (the
/// `WITH ORDINALITY` index the batched statements return).
pub(crate) fn grouped_by_position<K: Copy + Eq + Hash, V>(
    keys: &[K],
    rows: impl IntoIterator<Item = (i64, V)>,
) -> HashMap<K, Vec<V>> {
    let keyed = rows.into_iter().filter_map(|(idx, value)| {
        let key = usize::try_from(idx - 1).ok().and_then(|i| keys.get(i))?;
        Some((*key, value))
    });
    grouped(keys, keyed)
}

impl Loader<ChildrenPage> for TenantLoader {
    type Value = Vec<CustomerRow>;
    type Error = SharedError;

    async fn load(&self, keys: &[ChildrenPage]) -> Result<HashMap<ChildrenPage, Vec<CustomerRow>>, SharedError> {
        let page_keys: Vec<PageKey> = keys.iter().map(|k| k.0).collect();
        let rows = hierarchy::children_pages(&mut *self.conn().await?, self.tenant_id, &page_keys)
            .await
            .map_err(shared)?;
        Ok(pages_by_key(keys, rows))
    }
}

impl Loader<DescendantsPage> for TenantLoader {
    type Value = Vec<CustomerRow>;
    type Error = SharedError;

    async fn load(&self, keys: &[DescendantsPage]) -> Result<HashMap<DescendantsPage, Vec<CustomerRow>>, SharedError> {
        let page_keys: Vec<PageKey> = keys.iter().map(|k| k.0).collect();
        let rows = hierarchy::descendant_pages(&mut *self.conn().await?, self.tenant_id, &page_keys)
            .await
            .map_err(shared)?;
        Ok(pages_by_key(keys, rows))
    }
}

fn counts_by_key<K: Copy + Eq + std::hash::Hash>(
    keys: &[K],
    id_of: impl Fn(&K) -> Uuid,
    rows: Vec<hierarchy::CountRow>,
) -> HashMap<K, i64> {
    let counts: HashMap<Uuid, i64> = rows.into_iter().map(|r| (r.key, r.count)).collect();
    keys.iter()
        .map(|k| (*k, counts.get(&id_of(k)).copied().unwrap_or(0)))
        .collect()
}

impl Loader<ChildCount> for TenantLoader {
    type Value = i64;
    type Error = SharedError;

    async fn load(&self, keys: &[ChildCount]) -> Result<HashMap<ChildCount, i64>, SharedError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = hierarchy::child_counts(&mut *self.conn().await?, self.tenant_id, &ids)
            .await
            .map_err(shared)?;
        Ok(counts_by_key(keys, |k| k.0, rows))
    }
}

impl Loader<DescendantCount> for TenantLoader {
    type Value = i64;
    type Error = SharedError;

    async fn load(&self, keys: &[DescendantCount]) -> Result<HashMap<DescendantCount, i64>, SharedError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = hierarchy::descendant_counts(&mut *self.conn().await?, self.tenant_id, &ids)
            .await
            .map_err(shared)?;
        Ok(counts_by_key(keys, |k| k.0, rows))
    }
}

impl Loader<AncestorsOf> for TenantLoader {
    type Value = Vec<CustomerRow>;
    type Error = SharedError;

    async fn load(&self, keys: &[AncestorsOf]) -> Result<HashMap<AncestorsOf, Vec<CustomerRow>>, SharedError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = hierarchy::ancestors(&mut *self.conn().await?, self.tenant_id, &ids)
            .await
            .map_err(shared)?;
        // Rows arrive ordered by key, then distance: nearest ancestor first.
        Ok(grouped(
            keys,
            rows.into_iter().map(|r| (AncestorsOf(r.key), r.customer)),
        ))
    }
}

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
    type Value = Vec<(Uuid, UsageTotals)>;
    type Error = SharedError;

    async fn load(&self, keys: &[UsageOf]) -> Result<HashMap<UsageOf, Self::Value>, SharedError> {
        let mut by_query: HashMap<&UsageQuery, Vec<Uuid>> = HashMap::new();
        for key in keys {
            by_query.entry(&key.query).or_default().push(key.customer_id);
        }
        let mut conn = self.conn().await?;
        let mut out = HashMap::with_capacity(keys.len());
        for (query, customer_ids) in by_query {
            let ranges: Vec<UsageRange> = (1..)
                .zip(&customer_ids)
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
            };
            let rows = usage::aggregate(&mut conn, self.tenant_id, &spec)
                .await
                .map_err(shared)?;
            let mut per_customer: Vec<Vec<(Uuid, UsageTotals)>> = vec![Vec::new(); customer_ids.len()];
            // Rows come ordered by customer, meter, then the total before its windows.
            for row in rows {
                let list = &mut per_customer[(row.idx - 1) as usize];
                match row.bucket {
                    None => list.push((
                        row.meter_id,
                        UsageTotals {
                            aggregation: Aggregation::parse(&row.aggregation).unwrap_or(Aggregation::Count),
                            value: usage::parse_value(row.value.as_deref()),
                            event_count: row.event_count,
                            skipped: row.skipped,
                            windows: Vec::new(),
                        },
                    )),
                    Some(start) => {
                        if let Some((_, totals)) = list.last_mut().filter(|(m, _)| *m == row.meter_id) {
                            let window = query.window.unwrap_or(Window::Day);
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
            for (customer_id, usage) in customer_ids.into_iter().zip(per_customer) {
                out.insert(
                    UsageOf {
                        customer_id,
                        query: query.clone(),
                    },
                    usage,
                );
            }
        }
        Ok(out)
    }
}

rows_by_id! {
    PlanById => PlanRow, plans::plans_by_ids
}

rows_of_parent! {
    PricesOfPlan => PriceRow, plans::prices_of_plans, plan_id
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
        let quantities = usage::quantities(&mut *self.conn().await?, self.tenant_id, &requests)
            .await
            .map_err(shared)?;
        Ok(keys.iter().cloned().zip(quantities).collect())
    }
}

rows_by_id! {
    SubscriptionById => SubscriptionRow, subscriptions::by_ids
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubscriptionsPage(pub SubscriptionPageKey);

impl Loader<SubscriptionsPage> for TenantLoader {
    type Value = Vec<SubscriptionRow>;
    type Error = SharedError;

    async fn load(
        &self,
        keys: &[SubscriptionsPage],
    ) -> Result<HashMap<SubscriptionsPage, Vec<SubscriptionRow>>, SharedError> {
        let page_keys: Vec<SubscriptionPageKey> = keys.iter().map(|k| k.0).collect();
        let rows = subscriptions::subscription_pages(&mut *self.conn().await?, self.tenant_id, &page_keys, self.now)
            .await
            .map_err(shared)?;
        Ok(grouped_by_position(
            keys,
            rows.into_iter().map(|row| (row.idx, row.subscription)),
        ))
    }
}

/// How many subscriptions a customer has, of one status or all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubscriptionCount {
    pub customer_id: Uuid,
    pub status: Option<&'static str>,
}

impl Loader<SubscriptionCount> for TenantLoader {
    type Value = i64;
    type Error = SharedError;

    async fn load(&self, keys: &[SubscriptionCount]) -> Result<HashMap<SubscriptionCount, i64>, SharedError> {
        let pairs: Vec<(Uuid, Option<&'static str>)> = keys.iter().map(|k| (k.customer_id, k.status)).collect();
        let rows = subscriptions::subscription_counts(&mut *self.conn().await?, self.tenant_id, &pairs, self.now)
            .await
            .map_err(shared)?;
        Ok(rows
            .into_iter()
            .map(|r| (keys[(r.idx - 1) as usize], r.count))
            .collect())
    }
}

rows_of_parent! {
    /// Closed pauses, in time order.
    PausesOf => PauseRow, subscriptions::pauses_of, subscription_id
}

/// The live subscriptions a customer pays for (see
/// [`subscriptions::paid_subscriptions`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PaidSubscriptions {
    pub customer_id: Uuid,
    pub include_children: bool,
}

impl Loader<PaidSubscriptions> for TenantLoader {
    type Value = Vec<SubscriptionRow>;
    type Error = SharedError;

    async fn load(
        &self,
        keys: &[PaidSubscriptions],
    ) -> Result<HashMap<PaidSubscriptions, Vec<SubscriptionRow>>, SharedError> {
        let pairs: Vec<(Uuid, bool)> = keys.iter().map(|k| (k.customer_id, k.include_children)).collect();
        let rows = subscriptions::paid_subscriptions(&mut *self.conn().await?, self.tenant_id, &pairs, self.now)
            .await
            .map_err(shared)?;
        Ok(grouped_by_position(
            keys,
            rows.into_iter().map(|row| (row.idx, row.subscription)),
        ))
    }
}

rows_by_id! {
    PriceById => PriceRow, plans::prices_by_ids
}
