//! The one Relay connection every list returns: `edges` with cursors,
//! `nodes`, `pageInfo` and `totalCount`. `Connection<Invoice>` is named
//! `InvoiceConnection` in the schema (and its edge `InvoiceEdge`), so a
//! new list gets every field, and every field's documentation, at once.

use std::borrow::Cow;
use std::hash::Hash;

use async_graphql::dataloader::Loader;
use async_graphql::resolver_utils::ContainerType;
use async_graphql::{Context, Object, OutputType, TypeName};
use futures_util::future::BoxFuture;
use uuid::Uuid;

use crate::error::SharedError;
use crate::graphql::context::ContextExt;
use crate::graphql::in_place::{InPlace, InPlaceList};
use crate::graphql::loaders::TenantLoader;
use crate::graphql::pagination::{Cursor, PageInfo, PageRequest, cut_page, cut_page_by};

/// A list's total, for lists that count it only when a query selects
/// `totalCount` (counting costs a statement).
pub trait CountTotal: Send + Sync {
    fn count<'a>(&'a self, ctx: &'a Context<'_>) -> BoxFuture<'a, async_graphql::Result<i64>>;
}

/// Where a connection's totalCount comes from.
pub enum Total {
    /// Counted together with the page (or not asked for: then 0).
    Counted(i64),
    /// Counted when selected.
    Deferred(Box<dyn CountTotal>),
}

impl Total {
    /// Counted through the request's DataLoader with `key` (a count per
    /// parent), so the totals of many parents cost one statement.
    pub fn loaded<K>(key: K) -> Self
    where
        K: Send + Sync + Clone + Eq + Hash + 'static,
        TenantLoader: Loader<K, Value = i64, Error = SharedError>,
    {
        Total::Deferred(Box::new(LoadedCount(key)))
    }
}

impl From<i64> for Total {
    fn from(count: i64) -> Self {
        Total::Counted(count)
    }
}

struct LoadedCount<K>(K);

impl<K> CountTotal for LoadedCount<K>
where
    K: Send + Sync + Clone + Eq + Hash + 'static,
    TenantLoader: Loader<K, Value = i64, Error = SharedError>,
{
    fn count<'a>(&'a self, ctx: &'a Context<'_>) -> BoxFuture<'a, async_graphql::Result<i64>> {
        Box::pin(async move { Ok(ctx.loader().load_one(self.0.clone()).await?.unwrap_or(0)) })
    }
}

pub struct Edge<N> {
    cursor: Cursor,
    node: N,
}

/// One item of a page and its position in the list.
#[Object(name_type)]
impl<N: ContainerType> Edge<N> {
    /// Opaque position of this item: pass it as `after` to get the items
    /// that follow it.
    async fn cursor(&self) -> String {
        self.cursor.written()
    }

    /// The item.
    async fn node(&self) -> InPlace<&N> {
        InPlace(&self.node)
    }
}

impl<N: OutputType> TypeName for Edge<N> {
    fn type_name() -> Cow<'static, str> {
        format!("{}Edge", N::type_name()).into()
    }
}

pub struct Connection<N> {
    edges: Vec<Edge<N>>,
    page_info: PageInfo,
    total: Total,
}

impl<N> Connection<N> {
    /// A page of items with their cursors.
    pub fn new(items: Vec<(Cursor, N)>, page_info: PageInfo, total: impl Into<Total>) -> Self {
        Connection {
            edges: items.into_iter().map(|(cursor, node)| Edge { cursor, node }).collect(),
            page_info,
            total: total.into(),
        }
    }

    /// A fetched page of rows keyed by id (with its extra row): cuts the
    /// extra row, keeps the ids for the cursors and makes the nodes.
    pub fn from_rows<R>(
        rows: Vec<R>,
        page: &PageRequest,
        total: impl Into<Total>,
        id_of: impl Fn(&R) -> Uuid,
        node: impl Fn(R) -> N,
    ) -> Self {
        let (rows, page_info) = cut_page(rows, page, &id_of);
        let items = rows.into_iter().map(|r| (Cursor::Id(id_of(&r)), node(r))).collect();
        Self::new(items, page_info, total)
    }

    /// The same, for a list whose cursors are not just the row's id.
    pub fn from_rows_by<R>(
        rows: Vec<R>,
        limit: usize,
        after_cursor: bool,
        total: impl Into<Total>,
        cursor_of: impl Fn(&R) -> String,
        node: impl Fn(R) -> N,
    ) -> Self {
        let written = |r: &R| Cursor::Written(cursor_of(r));
        let (rows, page_info) = cut_page_by(rows, limit, after_cursor, written);
        let items = rows.into_iter().map(|r| (written(&r), node(r))).collect();
        Self::new(items, page_info, total)
    }
}

/// One page of a list, in the order the list's field describes. Ask for
/// the next page with `first` and `after: pageInfo.endCursor` while
/// `pageInfo.hasNextPage` is true.
#[Object(name_type)]
impl<N: ContainerType> Connection<N> {
    /// The page's items, each with its cursor.
    async fn edges(&self) -> InPlaceList<&Edge<N>> {
        InPlaceList(self.edges.iter().collect())
    }

    /// The page's items without cursors, in the same order as `edges`.
    async fn nodes(&self) -> InPlaceList<&N> {
        InPlaceList(self.edges.iter().map(|e| &e.node).collect())
    }

    /// Where this page is in the list, and the cursors to page on.
    async fn page_info(&self) -> &PageInfo {
        &self.page_info
    }

    /// Items in the whole list (with the same arguments), across all
    /// pages. Costs a count, so select it only when needed.
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        match &self.total {
            Total::Counted(count) => Ok(*count),
            Total::Deferred(counter) => counter.count(ctx).await,
        }
    }
}

impl<N: OutputType> TypeName for Connection<N> {
    fn type_name() -> Cow<'static, str> {
        format!("{}Connection", N::type_name()).into()
    }
}
