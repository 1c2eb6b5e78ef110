use async_graphql::{Context, Object, Result};
use futures_util::FutureExt;
use uuid::Uuid;

use crate::db::customers::{self, CustomerFilter, CustomerRow};
use crate::graphql::context::ContextExt;
use crate::graphql::customers::customer::Customer;
use crate::graphql::customers::loaders::{ChildCount, DescendantCount};
use crate::graphql::pagination::{PageInfo, encode_cursor};

/// Where a connection's totalCount comes from; counted only when asked for.
pub enum CustomerTotal {
    Filter(CustomerFilter),
    Children(Uuid),
    Descendants(Uuid),
}

pub struct CustomerConnection {
    rows: Vec<CustomerRow>,
    page_info: PageInfo,
    total: CustomerTotal,
}

impl CustomerConnection {
    pub fn new(rows: Vec<CustomerRow>, page_info: PageInfo, total: CustomerTotal) -> Self {
        CustomerConnection { rows, page_info, total }
    }
}

pub struct CustomerEdge(CustomerRow);

#[Object]
impl CustomerEdge {
    async fn cursor(&self) -> String {
        encode_cursor(self.0.id)
    }

    async fn node(&self) -> Customer {
        Customer(self.0.clone())
    }
}

#[Object]
impl CustomerConnection {
    async fn edges(&self) -> Vec<CustomerEdge> {
        self.rows.iter().cloned().map(CustomerEdge).collect()
    }

    /// The page's customers without cursors.
    async fn nodes(&self) -> Vec<Customer> {
        self.rows.iter().cloned().map(Customer).collect()
    }

    async fn page_info(&self) -> &PageInfo {
        &self.page_info
    }

    /// Customers in the whole list, across all pages.
    async fn total_count(&self, ctx: &Context<'_>) -> Result<i64> {
        Ok(match &self.total {
            CustomerTotal::Filter(filter) => {
                let (tenant_id, filter) = (ctx.tenant_id(), filter.clone());
                ctx.request()
                    .run(move |conn| async move { customers::count(conn, tenant_id, &filter).await }.boxed())
                    .await?
            }
            CustomerTotal::Children(id) => ctx.loader().load_one(ChildCount(*id)).await?.unwrap_or(0),
            CustomerTotal::Descendants(id) => ctx.loader().load_one(DescendantCount(*id)).await?.unwrap_or(0),
        })
    }
}
