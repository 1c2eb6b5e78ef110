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
    /// Creates a customer. VALIDATION names the bad field (`input.name`, `input.email`, ...);
    /// CONFLICT when an active customer already has the externalCustomerId, or the parent is
    /// archived; NOT_FOUND when the parent does not exist; VALIDATION on `input.parentCustomerId`
    /// when the hierarchy would exceed BILLGRAPH_MAX_HIERARCHY_DEPTH levels.
    async fn create_customer(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new customer's fields.")] input: CreateCustomerInput,
    ) -> Result<Customer> {
        let draft = input.validate()?;
        let row = customers::create(ctx.pool(), ctx.tenant_id(), draft, ctx.limits()).await?;
        Ok(Customer(row))
    }

    /// Changes only the fields given. Archived customers cannot be changed.
    async fn update_customer(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The customer to change. Another tenant's id, or none: NOT_FOUND.")] id: Uuid,
        #[graphql(
            desc = "The fields to change. Changing externalCustomerId is CONFLICT once events name it, or when another active customer holds it; an archived customer is CONFLICT."
        )]
        input: UpdateCustomerInput,
    ) -> Result<Customer> {
        let patch = input.validate()?;
        let row = customers::update(ctx.pool(), ctx.tenant_id(), id, patch).await?;
        Ok(Customer(row))
    }

    /// Moves the customer, with its whole subtree, under another parent;
    /// null makes it a root.
    async fn set_customer_parent(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The customer to move. Another tenant's id, or none: NOT_FOUND.")] id: Uuid,
        #[graphql(
            desc = "The new parent, or null for a root. NOT_FOUND when unknown, CONFLICT when archived, VALIDATION on `parentCustomerId` when it is the customer itself or one of its descendants, or when the hierarchy would exceed BILLGRAPH_MAX_HIERARCHY_DEPTH levels."
        )]
        parent_customer_id: Option<Uuid>,
    ) -> Result<Customer> {
        let row = hierarchy::move_customer(ctx.pool(), ctx.tenant_id(), id, parent_customer_id, ctx.limits()).await?;
        Ok(Customer(row))
    }

    /// Archives the customer and frees its externalCustomerId. Refused while
    /// it has active children.
    async fn archive_customer(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The customer to archive. Another tenant's id, or none: NOT_FOUND. CONFLICT while it has active children or subscriptions that have not ended."
        )]
        id: Uuid,
    ) -> Result<Customer> {
        let row = customers::archive(ctx.pool(), ctx.tenant_id(), id).await?;
        Ok(Customer(row))
    }

    /// Creates the customer's mapping for the provider, or replaces it.
    async fn upsert_integration_mapping(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The customer to link. Another tenant's id, or none: NOT_FOUND.")] customer_id: Uuid,
        #[graphql(desc = "The outside record. CONFLICT when that record is already mapped to another customer.")] input: IntegrationMappingInput,
    ) -> Result<IntegrationMapping> {
        let draft = input.validate()?;
        let row = integrations::upsert(ctx.pool(), ctx.tenant_id(), customer_id, draft).await?;
        Ok(IntegrationMapping(row))
    }

    /// Removes the mapping; returns true, or NOT_FOUND when there was none.
    async fn delete_integration_mapping(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The customer whose link goes. Another tenant's id, or none: NOT_FOUND.")] customer_id: Uuid,
        #[graphql(desc = "The outside system.")] provider: IntegrationProvider,
        #[graphql(desc = "Required for CUSTOM, refused otherwise (VALIDATION on `providerName`).")]
        provider_name: Option<String>,
    ) -> Result<bool> {
        let provider: Provider = provider.into();
        let name =
            validate_provider_name("providerName", provider, provider_name.as_deref()).map_err(AppError::from)?;
        integrations::delete(ctx.pool(), ctx.tenant_id(), customer_id, provider, &name).await?;
        Ok(true)
    }
}
