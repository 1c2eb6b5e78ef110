//! DataLoaders: every relation a resolver follows is batched here into one
//! statement per kind of relation, whatever the number of parents.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use uuid::Uuid;

use crate::db::customers::{self, CustomerRow};
use crate::db::hierarchy::{self, IndexedRow, PageKey};
use crate::db::integrations::{self, IntegrationRow};
use crate::db::{DbPool, connection};
use crate::error::{AppError, SharedError};

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
