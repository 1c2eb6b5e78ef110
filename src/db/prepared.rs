//! Raw SQL statements kept prepared on their connection.
//!
//! diesel never caches `sql_query` statements: each run costs PostgreSQL a
//! parse and a plan, and the client an extra round trip. For the loader
//! statements that is more than their execution (0.1-0.3 ms of parse and
//! 0.1-0.6 ms of planning each, against 0.1-1 ms of work). Wrapped in
//! [`Prepared`], a statement is prepared once per connection and keyed by
//! its text, so its text must never carry values: only placeholders and
//! constants, giving a small fixed set of statements.

use diesel::QueryResult;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};

/// A statement whose prepared form the connection may keep.
#[derive(Debug, Clone, Copy)]
pub struct Prepared<Q>(Q);

/// `.prepared()` on any raw statement with its binds.
pub trait PreparedExt: Sized {
    fn prepared(self) -> Prepared<Self> {
        Prepared(self)
    }
}

impl<Q: QueryFragment<Pg>> PreparedExt for Q {}

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Prepared<Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &Pg) -> QueryResult<bool> {
        Ok(true)
    }
}

impl<Q> QueryId for Prepared<Q> {
    type QueryId = ();
    // Keyed by the SQL text.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Prepared<Q> {
    type SqlType = Q::SqlType;
}
