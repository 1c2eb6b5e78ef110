//! DataLoaders of subscriptions and their pauses.

use std::collections::HashMap;
use std::hash::Hash;

use async_graphql::dataloader::Loader;
use uuid::Uuid;

use crate::db::phases::{self, PhaseRow};
use crate::db::subscriptions::{self, PauseRow, SubscriptionPageKey, SubscriptionRow};
use crate::domain::subscription::Status;
use crate::error::SharedError;
use crate::graphql::loaders::{TenantLoader, grouped_by_position, rows_by_id, rows_of_parent, shared};

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
        let rows =
            subscriptions::subscription_pages(&mut *self.conn().await?, self.tenant_id(), &page_keys, self.now())
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
    pub status: Option<Status>,
}

impl Loader<SubscriptionCount> for TenantLoader {
    type Value = i64;
    type Error = SharedError;

    async fn load(&self, keys: &[SubscriptionCount]) -> Result<HashMap<SubscriptionCount, i64>, SharedError> {
        let pairs: Vec<(Uuid, Option<Status>)> = keys.iter().map(|k| (k.customer_id, k.status)).collect();
        let rows = subscriptions::subscription_counts(&mut *self.conn().await?, self.tenant_id(), &pairs, self.now())
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

rows_of_parent! {
    /// Plan and quantity phases, in time order (none for a subscription never changed).
    PhasesOf => PhaseRow, phases::phases_of, subscription_id
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
        let rows = subscriptions::paid_subscriptions(&mut *self.conn().await?, self.tenant_id(), &pairs, self.now())
            .await
            .map_err(shared)?;
        Ok(grouped_by_position(
            keys,
            rows.into_iter().map(|row| (row.idx, row.subscription)),
        ))
    }
}
