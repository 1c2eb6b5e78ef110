//! DataLoaders: every relation a resolver follows is batched here into one
//! statement per kind of relation, whatever the number of parents.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::db::customers::{self, CustomerRow};
use crate::db::hierarchy::{self, IndexedRow, PageKey};
use crate::db::integrations::{self, IntegrationRow};
use crate::db::meters::{self, MeterRow};
use crate::db::plans::{self, PlanRow, PriceRow};
use crate::db::usage::{self, UsageSpec};
use crate::db::{DbPool, connection};
use crate::domain::meter::Aggregation;
use crate::domain::usage::Window;
use crate::error::{AppError, SharedError};
use crate::graphql::types::usage::UsageWindowValue;

/// Loads rows of one tenant; the tenant is fixed when the request starts.
pub struct TenantLoader {
    pool: DbPool,
    tenant_id: Uuid,
}

impl TenantLoader {
    pub fn new(pool: DbPool, tenant_id: Uuid) -> Self {
        TenantLoader { pool, tenant_id }
    }

    async fn conn(&self) -> Result<crate::db::DbConn, SharedError> {
        connection(&self.pool).await.map_err(SharedError::new)
    }
}

fn shared(err: diesel::result::Error) -> SharedError {
    SharedError::new(AppError::from(err))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CustomerById(pub Uuid);

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IntegrationsOf(pub Uuid);

impl Loader<CustomerById> for TenantLoader {
    type Value = CustomerRow;
    type Error = SharedError;

    async fn load(&self, keys: &[CustomerById]) -> Result<HashMap<CustomerById, CustomerRow>, SharedError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = customers::find_by_ids(&mut *self.conn().await?, self.tenant_id, &ids)
            .await
            .map_err(shared)?;
        Ok(rows.into_iter().map(|r| (CustomerById(r.id), r)).collect())
    }
}

/// Groups page rows back under the key that asked for them.
fn pages_by_key<K: Copy + Eq + std::hash::Hash>(keys: &[K], rows: Vec<IndexedRow>) -> HashMap<K, Vec<CustomerRow>> {
    let mut pages: HashMap<K, Vec<CustomerRow>> = keys.iter().map(|k| (*k, Vec::new())).collect();
    for row in rows {
        let key = keys[(row.idx - 1) as usize];
        pages.entry(key).or_default().push(row.customer);
    }
    pages
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
        let mut out: HashMap<AncestorsOf, Vec<CustomerRow>> = keys.iter().map(|k| (*k, Vec::new())).collect();
        // Rows arrive ordered by key, then distance: nearest ancestor first.
        for row in rows {
            out.entry(AncestorsOf(row.key)).or_default().push(row.customer);
        }
        Ok(out)
    }
}

impl Loader<IntegrationsOf> for TenantLoader {
    type Value = Vec<IntegrationRow>;
    type Error = SharedError;

    async fn load(&self, keys: &[IntegrationsOf]) -> Result<HashMap<IntegrationsOf, Vec<IntegrationRow>>, SharedError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = integrations::for_customers(&mut *self.conn().await?, self.tenant_id, &ids)
            .await
            .map_err(shared)?;
        let mut out: HashMap<IntegrationsOf, Vec<IntegrationRow>> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for row in rows {
            out.entry(IntegrationsOf(row.customer_id)).or_default().push(row);
        }
        Ok(out)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MeterById(pub Uuid);

impl Loader<MeterById> for TenantLoader {
    type Value = MeterRow;
    type Error = SharedError;

    async fn load(&self, keys: &[MeterById]) -> Result<HashMap<MeterById, MeterRow>, SharedError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = meters::find_by_ids(&mut *self.conn().await?, self.tenant_id, &ids)
            .await
            .map_err(shared)?;
        Ok(rows.into_iter().map(|r| (MeterById(r.id), r)).collect())
    }
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
            let spec = UsageSpec {
                customer_ids: &customer_ids,
                meter_ids: &query.meter_ids,
                include_children: query.include_children,
                from: query.from,
                to: query.to,
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
                            value: parse_value(row.value.as_deref()),
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
                                value: parse_value(row.value.as_deref()),
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

/// An aggregate from PostgreSQL; digits beyond a Decimal's 28 are rounded.
fn parse_value(text: Option<&str>) -> Option<Decimal> {
    let text = text?;
    match text.parse::<Decimal>() {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::error!(value = text, error = %e, "usage value out of range");
            None
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PlanById(pub Uuid);

impl Loader<PlanById> for TenantLoader {
    type Value = PlanRow;
    type Error = SharedError;

    async fn load(&self, keys: &[PlanById]) -> Result<HashMap<PlanById, PlanRow>, SharedError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = plans::plans_by_ids(&mut *self.conn().await?, self.tenant_id, &ids)
            .await
            .map_err(shared)?;
        Ok(rows.into_iter().map(|r| (PlanById(r.id), r)).collect())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PricesOfPlan(pub Uuid);

impl Loader<PricesOfPlan> for TenantLoader {
    type Value = Vec<PriceRow>;
    type Error = SharedError;

    async fn load(&self, keys: &[PricesOfPlan]) -> Result<HashMap<PricesOfPlan, Vec<PriceRow>>, SharedError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = plans::prices_of_plans(&mut *self.conn().await?, self.tenant_id, &ids)
            .await
            .map_err(shared)?;
        let mut out: HashMap<PricesOfPlan, Vec<PriceRow>> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for row in rows {
            out.entry(PricesOfPlan(row.plan_id)).or_default().push(row);
        }
        Ok(out)
    }
}
