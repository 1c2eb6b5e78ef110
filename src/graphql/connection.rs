//! Relay connections whose total is counted when the connection is built
//! (only when the query selects totalCount).

/// Declares `$connection` and `$edge` for node type `$node`.
macro_rules! connection_type {
    ($connection:ident, $edge:ident, $node:ty) => {
        #[derive(async_graphql::SimpleObject)]
        pub struct $edge {
            pub cursor: String,
            pub node: $node,
        }

        #[derive(async_graphql::SimpleObject)]
        pub struct $connection {
            pub edges: Vec<$edge>,
            pub page_info: $crate::graphql::pagination::PageInfo,
            /// Items in the whole list, across all pages.
            pub total_count: i64,
        }

        impl $connection {
            /// A page of rows keyed by id: cuts the extra row, writes the cursors.
            pub fn from_rows<R>(
                rows: Vec<R>,
                page: &$crate::graphql::pagination::PageRequest,
                total_count: i64,
                id_of: impl Fn(&R) -> uuid::Uuid,
                node: impl Fn(R) -> $node,
            ) -> Self {
                let (rows, page_info) = $crate::graphql::pagination::cut_page(rows, page, &id_of);
                let edges = rows
                    .into_iter()
                    .map(|r| $edge {
                        cursor: $crate::graphql::pagination::encode_cursor(id_of(&r)),
                        node: node(r),
                    })
                    .collect();
                $connection {
                    edges,
                    page_info,
                    total_count,
                }
            }
        }
    };
}

/// Declares `$connection` and `$edge` for node type `$node`, a tuple struct
/// around `$row`. Its totalCount is counted through the DataLoader key
/// `$count` (a count per parent), and only when the query selects it.
macro_rules! loaded_connection_type {
    ($connection:ident, $edge:ident, $node:ident, $row:ty, $count:ty) => {
        #[derive(async_graphql::SimpleObject)]
        pub struct $edge {
            pub cursor: String,
            pub node: $node,
        }

        pub struct $connection {
            rows: Vec<$row>,
            page_info: $crate::graphql::pagination::PageInfo,
            count: $count,
            cursor_of: fn(&$row) -> String,
        }

        impl $connection {
            /// A fetched page (with its extra row) and the key that counts the whole list.
            pub fn new(rows: Vec<$row>, page: &$crate::graphql::pagination::PageRequest, count: $count) -> Self {
                Self::with_cursors(rows, page.limit, page.after.is_some(), count, |r| {
                    $crate::graphql::pagination::encode_cursor(r.id)
                })
            }

            /// The same, for a list whose cursors are not just the row's id.
            pub fn with_cursors(
                rows: Vec<$row>,
                limit: usize,
                after_cursor: bool,
                count: $count,
                cursor_of: fn(&$row) -> String,
            ) -> Self {
                let (rows, page_info) = $crate::graphql::pagination::cut_page_by(rows, limit, after_cursor, cursor_of);
                $connection {
                    rows,
                    page_info,
                    count,
                    cursor_of,
                }
            }
        }

        #[async_graphql::Object]
        impl $connection {
            async fn edges(&self) -> Vec<$edge> {
                self.rows
                    .iter()
                    .map(|r| $edge {
                        cursor: (self.cursor_of)(r),
                        node: $node(r.clone()),
                    })
                    .collect()
            }

            /// The page's items without cursors.
            async fn nodes(&self) -> Vec<$node> {
                self.rows.iter().cloned().map($node).collect()
            }

            async fn page_info(&self) -> &$crate::graphql::pagination::PageInfo {
                &self.page_info
            }

            /// Items in the whole list, across all pages.
            async fn total_count(&self, ctx: &async_graphql::Context<'_>) -> async_graphql::Result<i64> {
                use $crate::graphql::context::ContextExt;
                Ok(ctx.loader().load_one(self.count).await?.unwrap_or(0))
            }
        }
    };
}

pub(crate) use {connection_type, loaded_connection_type};
