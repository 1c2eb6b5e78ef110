use std::collections::BTreeMap;

use async_graphql::{Context, Enum, Json, Object, Result};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::integrations::IntegrationRow;
use crate::graphql::context::ContextExt;
use crate::graphql::customers::customer::Customer;
use crate::graphql::customers::loaders::CustomerById;

/// An outside system a customer can be linked to.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::integration::Provider")]
pub enum IntegrationProvider {
    /// Stripe; its mapping is kept by connectStripe and syncCustomerToProvider.
    Stripe,
    /// HubSpot.
    Hubspot,
    /// QuickBooks.
    Quickbooks,
    /// Salesforce.
    Salesforce,
    /// Any other system, named by providerName.
    Custom,
}

pub struct IntegrationMapping(pub IntegrationRow);

/// A link from a customer to its record in an outside system.
#[Object]
impl IntegrationMapping {
    /// The mapping's id.
    async fn id(&self) -> Uuid {
        self.0.id
    }

    /// The linked customer's id.
    async fn customer_id(&self) -> Uuid {
        self.0.customer_id
    }

    /// The linked customer.
    async fn customer(&self, ctx: &Context<'_>) -> Result<Option<Customer>> {
        Ok(ctx
            .loader()
            .load_one(CustomerById(self.0.customer_id))
            .await?
            .map(Customer))
    }

    /// The outside system.
    async fn provider(&self) -> IntegrationProvider {
        self.0.provider.into()
    }

    /// The outside system's name, for CUSTOM mappings only.
    async fn provider_name(&self) -> Option<&str> {
        (!self.0.provider_name.is_empty()).then_some(self.0.provider_name.as_str())
    }

    /// The record's id in the outside system.
    async fn provider_entity_id(&self) -> &str {
        &self.0.provider_entity_id
    }

    /// A JSON object of string values, as given.
    async fn metadata(&self) -> Json<BTreeMap<String, String>> {
        Json(crate::customers::stored_metadata(&self.0.metadata))
    }

    /// When the mapping was created (UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When the mapping was last replaced (UTC).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}
