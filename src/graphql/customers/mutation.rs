use async_graphql::{Context, Object, Result};
use uuid::Uuid;

use crate::customers::{self, hierarchy, integrations};
use crate::domain::integration::{Provider, validate_provider_name};
use crate::error::AppError;
use crate::graphql::context::ContextExt;
use crate::graphql::customers::customer::Customer;
use crate::graphql::customers::inputs::{CreateCustomerInput, IntegrationMappingInput, UpdateCustomerInput};
use crate::graphql::customers::integration::{IntegrationMapping, IntegrationProvider};

#[derive(Default)]
pub struct CustomerMutationRoot;

#[Object]
impl CustomerMutationRoot {
    async fn create_customer(&self, ctx: &Context<'_>, input: CreateCustomerInput) -> Result<Customer> {
        let draft = input.validate()?;
        let row = customers::create(ctx.pool(), ctx.tenant_id(), draft, ctx.limits()).await?;
        Ok(Customer(row))
    }

    /// Changes only the fields given. Archived customers cannot be changed.
    async fn update_customer(&self, ctx: &Context<'_>, id: Uuid, input: UpdateCustomerInput) -> Result<Customer> {
        let patch = input.validate()?;
        let row = customers::update(ctx.pool(), ctx.tenant_id(), id, patch).await?;
        Ok(Customer(row))
    }

    /// Moves the customer, with its whole subtree, under another parent;
    /// null makes it a root.
    async fn set_customer_parent(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        parent_customer_id: Option<Uuid>,
    ) -> Result<Customer> {
        let row = hierarchy::move_customer(ctx.pool(), ctx.tenant_id(), id, parent_customer_id, ctx.limits()).await?;
        Ok(Customer(row))
    }

    /// Archives the customer and frees its externalCustomerId. Refused while
    /// it has active children.
    async fn archive_customer(&self, ctx: &Context<'_>, id: Uuid) -> Result<Customer> {
        let row = customers::archive(ctx.pool(), ctx.tenant_id(), id).await?;
        Ok(Customer(row))
    }

    /// Creates the customer's mapping for the provider, or replaces it.
    async fn upsert_integration_mapping(
        &self,
        ctx: &Context<'_>,
        customer_id: Uuid,
        input: IntegrationMappingInput,
    ) -> Result<IntegrationMapping> {
        let draft = input.validate()?;
        let row = integrations::upsert(ctx.pool(), ctx.tenant_id(), customer_id, draft).await?;
        Ok(IntegrationMapping(row))
    }

    /// Removes the mapping; returns true, or NOT_FOUND when there was none.
    async fn delete_integration_mapping(
        &self,
        ctx: &Context<'_>,
        customer_id: Uuid,
        provider: IntegrationProvider,
        provider_name: Option<String>,
    ) -> Result<bool> {
        let provider: Provider = provider.into();
        let name =
            validate_provider_name("providerName", provider, provider_name.as_deref()).map_err(AppError::from)?;
        integrations::delete(ctx.pool(), ctx.tenant_id(), customer_id, provider, &name).await?;
        Ok(true)
    }
}
