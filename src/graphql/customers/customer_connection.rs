use async_graphql::Context;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use crate::db::customers::{self, CustomerFilter};
use crate::graphql::connection::{Connection, CountTotal};
use crate::graphql::context::ContextExt;
use crate::graphql::customers::customer::Customer;

pub type CustomerConnection = Connection<Customer>;

/// The tenant's customers through a filter, counted with one statement
/// when the query selects totalCount.
pub struct FilteredCustomerCount(pub CustomerFilter);

impl CountTotal for FilteredCustomerCount {
    fn count<'a>(&'a self, ctx: &'a Context<'_>) -> BoxFuture<'a, async_graphql::Result<i64>> {
        let (tenant_id, filter) = (ctx.tenant_id(), self.0.clone());
        Box::pin(async move {
            Ok(ctx
                .request()
                .run(move |conn| async move { customers::count(conn, tenant_id, &filter).await }.boxed())
                .await?)
        })
    }
}
