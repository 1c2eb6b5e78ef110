//! Raw SQL statements kept prepared on their connection.
//!
//! diesel never caches `sql_query` statements: each run costs PostgreSQL a
//! parse and a plan, and the client an extra round trip. For the loader
//! statements that is more than their execution (0.1-0.3 ms of parse and
//! 0.1-0.6 ms of planning each, against 0.1-1 ms of work). Wrapped in
//! [`Prepared`], a statement is prepared once per connection and keyed by
//! its text, so its text must never carry values: only placeholders and
//! constants, giving a small fixed set of statements. Nor may it select
//! `*` into its result: a prepared statement whose result columns change
//! (a migration adding a column while an older server still runs) fails
//! with "cached plan must not change result type". [`columns_of`] writes
//! a row type's columns out instead.

use diesel::QueryableByName;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Nullable, Uuid as SqlUuid};
use diesel::{QueryResult, Selectable};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::{MAX_UUID, MIN_UUID};

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

/// The columns `T` reads, in its order, qualified by `alias` instead of
/// `table`: `c."tenant_id", c."id", ...`.
pub fn columns_of<T>(table: &str, alias: &str) -> String
where
    T: Selectable<Pg>,
    T::SelectExpression: QueryFragment<Pg>,
{
    let selection = diesel::debug_query::<Pg, _>(&T::construct_selection()).to_string();
    let columns = selection.split(" -- binds:").next().unwrap_or_default();
    columns.replace(&format!("\"{table}\"."), &format!("{alias}."))
}

/// The rows of `table` for each key of the array bound as $2 (matched on
/// `key_column`, tenant $1), ordered by `order_by`: one index range per key
/// through a LATERAL, whatever the planner knows of the table.
pub fn rows_of_keys_sql<T>(table: &str, key_column: &str, order_by: &str) -> String
where
    T: Selectable<Pg>,
    T::SelectExpression: QueryFragment<Pg>,
{
    format!(
        "SELECT {columns} FROM unnest($2::uuid[]) AS k(key)
         CROSS JOIN LATERAL (
             SELECT * FROM {table} r WHERE r.tenant_id = $1 AND r.{key_column} = k.key OFFSET 0
         ) r
         ORDER BY {order_by}",
        columns = columns_of::<T>(table, "r"),
    )
}

/// Runs a [`rows_of_keys_sql`] statement: tenant `tenant_id`, keys `keys`.
pub async fn load_rows_of_keys<R>(
    conn: &mut AsyncPgConnection,
    sql: &str,
    tenant_id: Uuid,
    keys: &[Uuid],
) -> QueryResult<Vec<R>>
where
    R: QueryableByName<Pg> + Send + 'static,
{
    diesel::sql_query(sql)
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<Array<SqlUuid>, _>(keys)
        .prepared()
        .load(conn)
        .await
}

/// Which way a keyset page runs through ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageOrder {
    /// Oldest first: ids above the cursor.
    Ascending,
    /// Newest first: ids below the cursor.
    Descending,
}

/// Pages of `table` for many parents at once (matched on `parent_column`,
/// tenant $1): the parents bound as $2, each page's cursor (the id it
/// starts after, or null) as $3 and its size as $4. One index range per
/// page through a LATERAL; each row comes with `idx`, the 1-based position
/// of its page among the keys.
pub fn parent_pages_sql<T>(table: &str, parent_column: &str, order: PageOrder) -> String
where
    T: Selectable<Pg>,
    T::SelectExpression: QueryFragment<Pg>,
{
    let (compare, bound, direction) = match order {
        PageOrder::Ascending => (">", MIN_UUID, "ASC"),
        PageOrder::Descending => ("<", MAX_UUID, "DESC"),
    };
    format!(
        "SELECT k.idx, {columns}
         FROM unnest($2::uuid[], $3::uuid[], $4::int8[]) WITH ORDINALITY AS k(parent, after, lim, idx)
         CROSS JOIN LATERAL (
             SELECT * FROM {table} r
             WHERE r.tenant_id = $1 AND r.{parent_column} = k.parent
               AND r.id {compare} COALESCE(k.after, {bound})
             ORDER BY r.id {direction}
             LIMIT k.lim
         ) r
         ORDER BY k.idx, r.id {direction}",
        columns = columns_of::<T>(table, "r"),
    )
}

/// One requested page of a [`parent_pages_sql`] statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ParentPage {
    pub parent: Uuid,
    /// The page starts after this id (the previous page's last).
    pub after: Option<Uuid>,
    pub limit: i64,
}

/// Runs a [`parent_pages_sql`] statement for `pages` of tenant `tenant_id`.
pub async fn load_parent_pages<R>(
    conn: &mut AsyncPgConnection,
    sql: &str,
    tenant_id: Uuid,
    pages: impl IntoIterator<Item = ParentPage>,
) -> QueryResult<Vec<R>>
where
    R: QueryableByName<Pg> + Send + 'static,
{
    let (mut parents, mut afters, mut limits) = (Vec::new(), Vec::new(), Vec::new());
    for page in pages {
        parents.push(page.parent);
        afters.push(page.after);
        limits.push(page.limit);
    }
    diesel::sql_query(sql)
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<Array<SqlUuid>, _>(parents)
        .bind::<Array<Nullable<SqlUuid>>, _>(afters)
        .bind::<Array<BigInt>, _>(limits)
        .prepared()
        .load(conn)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::customers::CustomerRow;

    #[test]
    fn columns_are_written_out_under_the_alias() {
        let columns = columns_of::<CustomerRow>("customers", "c");
        assert!(columns.starts_with("c.\"tenant_id\", c.\"id\", "), "{columns}");
        assert!(!columns.contains("customers") && !columns.contains('*'), "{columns}");
        assert!(!columns.contains("binds"), "{columns}");
    }
}
