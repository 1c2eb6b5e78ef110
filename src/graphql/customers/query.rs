use async_graphql::{Context, Object, Result};
use uuid::Uuid;

use futures_util::FutureExt;

use crate::db::{customers, integrations};
use crate::domain::integration::{Provider, validate_provider_entity_id, validate_provider_name};
use crate::error::AppError;
use crate::graphql::connection::Total;
use crate::graphql::context::ContextExt;
use crate::graphql::customers::customer::Customer;
use crate::graphql::customers::customer_connection::{CustomerConnection, FilteredCustomerCount};
use crate::graphql::customers::inputs::CustomerFilterInput;
use crate::graphql::customers::integration::IntegrationProvider;
use crate::graphql::customers::loaders::CustomerById;
use crate::graphql::pagination::{PageRequest, page_complexity};

#[derive(Default)]
pub struct CustomerQueryRoot;

#[Object]
impl CustomerQueryRoot {
    /// The customer with this id, archived or not. Another tenant's id, or none: NOT_FOUND.
    async fn customer(&self, ctx: &Context<'_>, #[graphql(desc = "The customer's id.")] id: Uuid) -> Result<Customer> {
        let row = ctx.loader().load_one(CustomerById(id)).await?;
        Ok(Customer(row.ok_or_else(|| AppError::not_found("customer"))?))
    }

    /// The active customer with this external id or, when none is active,
    /// the most recently archived one.
    async fn customer_by_external_id(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The id in the tenant's own systems (surrounding spaces ignored). None: NOT_FOUND.")]
        external_customer_id: String,
    ) -> Result<Customer> {
        let tenant_id = ctx.tenant_id();
        let external_customer_id = external_customer_id.trim().to_owned();
        let row = ctx
            .request()
            .run(move |conn| {
                async move { customers::find_by_external_id(conn, tenant_id, &external_customer_id).await }.boxed()
            })
            .await?;
        Ok(Customer(row.ok_or_else(|| AppError::not_found("customer"))?))
    }

    /// The customer mapped to a record of an outside system.
    async fn customer_by_integration(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The outside system.")] provider: IntegrationProvider,
        #[graphql(desc = "The record's id in that system, 1 to 255 characters. No customer mapped to it: NOT_FOUND.")]
        provider_entity_id: String,
        #[graphql(desc = "The system's name: required for CUSTOM, refused otherwise (VALIDATION on `providerName`).")]
        provider_name: Option<String>,
    ) -> Result<Customer> {
        let provider: Provider = provider.into();
        let name =
            validate_provider_name("providerName", provider, provider_name.as_deref()).map_err(AppError::from)?;
        let entity = validate_provider_entity_id("providerEntityId", &provider_entity_id).map_err(AppError::from)?;
        let tenant_id = ctx.tenant_id();
        let row = ctx
            .request()
            .run(move |conn| {
                async move { integrations::find_customer(conn, tenant_id, provider, &name, &entity).await }.boxed()
            })
            .await?;
        Ok(Customer(row.ok_or_else(|| AppError::not_found("customer"))?))
    }

    /// Customers in creation order.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn customers(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Page size (default 20, at most 100: the server's BILLGRAPH_DEFAULT_PAGE_SIZE and BILLGRAPH_MAX_PAGE_SIZE). Negative or above the maximum: VALIDATION on `first`."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "Start after this cursor (an edge's `cursor` or `pageInfo.endCursor`); omitted: from the start. Unreadable: VALIDATION on `after`."
        )]
        after: Option<String>,
        #[graphql(
            desc = "Narrows the list; omitted: every customer, archived ones included. Bad values: VALIDATION on `filter.<field>`."
        )]
        filter: Option<CustomerFilterInput>,
    ) -> Result<CustomerConnection> {
        let page = PageRequest::parse(first, after.as_deref(), ctx.limits())?;
        let filter = filter.unwrap_or_default().validate()?;
        let (tenant_id, after, limit) = (ctx.tenant_id(), page.after, page.fetch_limit());
        let list_filter = filter.clone();
        let rows = ctx
            .request()
            .run(move |conn| async move { customers::list(conn, tenant_id, &list_filter, after, limit).await }.boxed())
            .await?;
        Ok(CustomerConnection::from_rows(
            rows,
            &page,
            Total::Deferred(Box::new(FilteredCustomerCount(filter))),
            |r| r.id,
            Customer,
        ))
    }
}
