//! DataLoaders of collection methods, payment attempts and the tenant's
//! Stripe connection.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use uuid::Uuid;

use crate::db::providers::{self, AttemptRow, ConnectionRow};
use crate::domain::provider::{CollectionMethod, ProviderKind};
use crate::error::SharedError;
use crate::graphql::loaders::{TenantLoader, rows_of_parent, shared};

rows_of_parent! {
    AttemptsOf => AttemptRow, providers::attempts_of_invoices, invoice_id
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CollectionMethodOf(pub Uuid);

impl Loader<CollectionMethodOf> for TenantLoader {
    type Value = CollectionMethod;
    type Error = SharedError;

    async fn load(
        &self,
        keys: &[CollectionMethodOf],
    ) -> Result<HashMap<CollectionMethodOf, CollectionMethod>, SharedError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = providers::collection_methods(&mut *self.conn().await?, self.tenant_id(), &ids)
            .await
            .map_err(shared)?;
        Ok(rows.into_iter().map(|(id, m)| (CollectionMethodOf(id), m)).collect())
    }
}

/// A subscription's own collection method; absent when it follows the customer's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubscriptionCollectionMethodOf(pub Uuid);

impl Loader<SubscriptionCollectionMethodOf> for TenantLoader {
    type Value = CollectionMethod;
    type Error = SharedError;

    async fn load(
        &self,
        keys: &[SubscriptionCollectionMethodOf],
    ) -> Result<HashMap<SubscriptionCollectionMethodOf, CollectionMethod>, SharedError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = providers::subscription_collection_methods(&mut *self.conn().await?, self.tenant_id(), &ids)
            .await
            .map_err(shared)?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, m)| Some((SubscriptionCollectionMethodOf(id), m?)))
            .collect())
    }
}

/// The request tenant's Stripe connection (one statement per request).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StripeConnectionOfTenant;

impl Loader<StripeConnectionOfTenant> for TenantLoader {
    type Value = ConnectionRow;
    type Error = SharedError;

    async fn load(
        &self,
        _: &[StripeConnectionOfTenant],
    ) -> Result<HashMap<StripeConnectionOfTenant, ConnectionRow>, SharedError> {
        let row = providers::find_connection(&mut *self.conn().await?, self.tenant_id(), ProviderKind::Stripe)
            .await
            .map_err(shared)?;
        Ok(row.map(|r| (StripeConnectionOfTenant, r)).into_iter().collect())
    }
}
