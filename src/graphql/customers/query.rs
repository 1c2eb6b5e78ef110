use async_graphql::{Context, Object, Result};
use uuid::Uuid;

use futures_util::FutureExt;

use crate::db::{customers, integrations};
use crate::domain::integration::{Provider, validate_provider_entity_id, validate_provider_name};
use crate::error::AppError;
use crate::graphql::context::ContextExt;
use crate::graphql::customers::customer::Customer;
use crate::graphql::customers::customer_connection::{CustomerConnection, CustomerTotal};
use crate::graphql::customers::inputs::CustomerFilterInput;
use crate::graphql::customers::integration::IntegrationProvider;
use crate::graphql::customers::loaders::CustomerById;
use crate::graphql::pagination::{PageRequest, cut_page, page_complexity};

#[derive(Default)]
pub struct CustomerQueryRoot;

#[Object]
impl CustomerQueryRoot {
    async fn customer(&self, ctx: &Context<'_>, id: Uuid) -> Result<Customer> {
        let row = ctx.loader().load_one(CustomerById(id)).await?;
        Ok(Customer(row.ok_or_else(|| AppError::not_found("customer"))?))
    }

    /// The active customer with this external id or, when none is active,
    /// the most recently archived one.
    async fn customer_by_external_id(&self, ctx: &Context<'_>, external_customer_id: String) -> Result<Customer> {
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
        provider: IntegrationProvider,
        provider_entity_id: String,
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
        first: Option<i32>,
        after: Option<String>,
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
        let (rows, page_info) = cut_page(rows, &page, |r| r.id);
        Ok(CustomerConnection::new(rows, page_info, CustomerTotal::Filter(filter)))
    }
}
