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
    };
}

pub(crate) use connection_type;
