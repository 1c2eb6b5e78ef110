//! DataLoaders of webhooks: endpoints, events, attempts and pages of
//! deliveries, one statement per relation whatever the number of parents.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use uuid::Uuid;

use crate::db::prepared::ParentPage;
use crate::db::webhooks::{self as rows, DeliveryFilter, WebhookAttemptRow, WebhookDeliveryRow, WebhookEndpointRow};
use crate::error::SharedError;
use crate::graphql::loaders::{TenantLoader, grouped_by_position, rows_by_id, rows_of_parent, shared};

rows_by_id! {
    WebhookEndpointById => WebhookEndpointRow, rows::endpoints_by_ids
}

rows_of_parent! {
    /// A delivery's attempts, in order.
    AttemptsOfDelivery => WebhookAttemptRow, rows::attempts_of_deliveries, delivery_id
}

/// One page of an endpoint's deliveries, newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EndpointDeliveriesPage(pub ParentPage);

impl Loader<EndpointDeliveriesPage> for TenantLoader {
    type Value = Vec<WebhookDeliveryRow>;
    type Error = SharedError;

    async fn load(
        &self,
        keys: &[EndpointDeliveriesPage],
    ) -> Result<HashMap<EndpointDeliveriesPage, Vec<WebhookDeliveryRow>>, SharedError> {
        let pages = keys.iter().map(|k| k.0);
        let rows = rows::delivery_pages_of_endpoints(&mut *self.conn().await?, self.tenant_id(), pages)
            .await
            .map_err(shared)?;
        Ok(grouped_by_position(keys, rows.into_iter().map(|r| (r.idx, r.delivery))))
    }
}

/// How many deliveries a list holds: an endpoint's, or the tenant's
/// through a filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WebhookDeliveryCount {
    Endpoint(Uuid),
    Filtered(DeliveryFilter),
}

impl Loader<WebhookDeliveryCount> for TenantLoader {
    type Value = i64;
    type Error = SharedError;

    async fn load(&self, keys: &[WebhookDeliveryCount]) -> Result<HashMap<WebhookDeliveryCount, i64>, SharedError> {
        let mut conn = self.conn().await?;
        let mut out = HashMap::with_capacity(keys.len());
        let endpoints: Vec<Uuid> = keys
            .iter()
            .filter_map(|k| match k {
                WebhookDeliveryCount::Endpoint(id) => Some(*id),
                WebhookDeliveryCount::Filtered(_) => None,
            })
            .collect();
        if !endpoints.is_empty() {
            let counts = rows::delivery_counts_of_endpoints(&mut conn, self.tenant_id(), &endpoints)
                .await
                .map_err(shared)?;
            out.extend(
                counts
                    .into_iter()
                    .map(|(id, n)| (WebhookDeliveryCount::Endpoint(id), n)),
            );
        }
        // A request lists the tenant's deliveries through a filter or two at most.
        for key in keys {
            if let WebhookDeliveryCount::Filtered(filter) = key {
                let n = rows::delivery_count(&mut conn, self.tenant_id(), *filter)
                    .await
                    .map_err(shared)?;
                out.insert(*key, n);
            }
        }
        Ok(out)
    }
}
