//! DataLoaders of customers, their hierarchy and their integrations.

use std::collections::HashMap;
use std::hash::Hash;

use async_graphql::dataloader::Loader;
use uuid::Uuid;

use crate::db::customers::{self, CustomerRow};
use crate::db::hierarchy::{self, IndexedRow, PageKey};
use crate::db::integrations::{self, IntegrationRow};
use crate::error::SharedError;
use crate::graphql::loaders::{TenantLoader, grouped, grouped_by_position, rows_by_id, rows_of_parent, shared};

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

impl Loader<ChildrenPage> for TenantLoader {
    type Value = Vec<CustomerRow>;
    type Error = SharedError;

    async fn load(&self, keys: &[ChildrenPage]) -> Result<HashMap<ChildrenPage, Vec<CustomerRow>>, SharedError> {
        let page_keys: Vec<PageKey> = keys.iter().map(|k| k.0).collect();
        let rows = hierarchy::children_pages(&mut *self.conn().await?, self.tenant_id(), &page_keys)
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
        let rows = hierarchy::descendant_pages(&mut *self.conn().await?, self.tenant_id(), &page_keys)
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
        let rows = hierarchy::child_counts(&mut *self.conn().await?, self.tenant_id(), &ids)
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
        let rows = hierarchy::descendant_counts(&mut *self.conn().await?, self.tenant_id(), &ids)
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
        let rows = hierarchy::ancestors(&mut *self.conn().await?, self.tenant_id(), &ids)
            .await
            .map_err(shared)?;
        // Rows arrive ordered by key, then distance: nearest ancestor first.
        Ok(grouped(
            keys,
            rows.into_iter().map(|r| (AncestorsOf(r.key), r.customer)),
        ))
    }
}
