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

pub(crate) use connection_type;
