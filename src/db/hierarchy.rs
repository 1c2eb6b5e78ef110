//! Hierarchy queries, each batched over many customers in one statement so
//! DataLoaders can answer a whole page at once. Recursion stops at 64 levels
//! as a guard; the configured depth limit is far below it.

use std::sync::LazyLock;

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Int4, Nullable, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::prepared::{PageOrder, ParentPage, PreparedExt, columns_of, load_parent_pages, parent_pages_sql};
use uuid::Uuid;

use crate::db::MIN_UUID;
use crate::db::customers::CustomerRow;

/// One requested page of a customer's children or descendants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageKey {
    pub customer_id: Uuid,
    pub after: Option<Uuid>,
    pub limit: i64,
}

/// A row answering the `idx`-th requested key (1-based, as WITH ORDINALITY).
#[derive(QueryableByName)]
pub struct IndexedRow {
    #[diesel(sql_type = BigInt)]
    pub idx: i64,
    #[diesel(embed)]
    pub customer: CustomerRow,
}

#[derive(QueryableByName)]
pub struct AncestorRow {
    #[diesel(sql_type = SqlUuid)]
    pub key: Uuid,
    #[diesel(embed)]
    pub customer: CustomerRow,
}

#[derive(QueryableByName)]
pub struct CountRow {
    #[diesel(sql_type = SqlUuid)]
    pub key: Uuid,
    #[diesel(sql_type = BigInt)]
    pub count: i64,
}

/// Serialises hierarchy changes within a tenant for the rest of the
/// transaction, so two concurrent moves can never form a cycle together.
pub async fn lock_tenant_hierarchy(conn: &mut AsyncPgConnection, tenant_id: Uuid) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended('billgraph.hierarchy:' || $1::text, 0))")
        .bind::<SqlUuid, _>(tenant_id)
        .execute(conn)
        .await
        .map(drop)
}

fn page_arrays(keys: &[PageKey]) -> (Vec<Uuid>, Vec<Option<Uuid>>, Vec<i64>) {
    (
        keys.iter().map(|k| k.customer_id).collect(),
        keys.iter().map(|k| k.after).collect(),
        keys.iter().map(|k| k.limit).collect(),
    )
}

/// Pages of direct children, in id order, for many parents at once.
pub async fn children_pages(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    keys: &[PageKey],
) -> QueryResult<Vec<IndexedRow>> {
    static SQL: LazyLock<String> =
        LazyLock::new(|| parent_pages_sql::<CustomerRow>("customers", "parent_customer_id", PageOrder::Ascending));
    let pages = keys.iter().map(|k| ParentPage {
        parent: k.customer_id,
        after: k.after,
        limit: k.limit,
    });
    load_parent_pages(conn, &SQL, tenant_id, pages).await
}

/// Pages of whole subtrees (every level below the customer), in id order.
/// The subtree is walked through the customers_children index one parent
/// at a time (LATERAL, so no plan joins the whole table, statistics or
/// not); only the page's rows are then read whole.
pub async fn descendant_pages(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    keys: &[PageKey],
) -> QueryResult<Vec<IndexedRow>> {
    let (ids, afters, limits) = page_arrays(keys);
    static COLUMNS: LazyLock<String> = LazyLock::new(|| columns_of::<CustomerRow>("customers", "c"));
    let columns = COLUMNS.as_str();
    diesel::sql_query(format!(
        "WITH RECURSIVE k AS (
             SELECT * FROM unnest($2::uuid[], $3::uuid[], $4::int8[]) WITH ORDINALITY AS k(root, after, lim, idx)
         ), tree(idx, id, lvl, after, lim) AS (
             SELECT k.idx, c.id, 1, k.after, k.lim FROM k
             CROSS JOIN LATERAL ({children_of_root}) c
             UNION ALL
             SELECT t.idx, c.id, t.lvl + 1, t.after, t.lim FROM tree t
             CROSS JOIN LATERAL ({children_of_tree}) c
             WHERE t.lvl < 64
         ), ranked AS (
             SELECT t.idx, t.id, t.lim, row_number() OVER (PARTITION BY t.idx ORDER BY t.id) AS rn
             FROM tree t
             WHERE t.id > COALESCE(t.after, {MIN_UUID})
         )
         SELECT r.idx, {columns}
         FROM ranked r
         CROSS JOIN LATERAL (
             SELECT * FROM customers c WHERE c.tenant_id = $1 AND c.id = r.id OFFSET 0
         ) c
         WHERE r.rn <= r.lim
         ORDER BY r.idx, r.id",
        children_of_root = children_sql("k.root"),
        children_of_tree = children_sql("t.id"),
    ))
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Array<Nullable<SqlUuid>>, _>(afters)
    .bind::<Array<BigInt>, _>(limits)
    .prepared()
    .load(conn)
    .await
}

/// The parent of the customer whose id is in column `id`, by primary key,
/// one row at a time (OFFSET 0: see [`children_sql`]).
fn parent_sql(id: &str) -> String {
    format!("SELECT c.parent_customer_id FROM customers c WHERE c.tenant_id = $1 AND c.id = {id} OFFSET 0")
}

/// The ids of the children of the customer in column `parent`, from the
/// customers_children index; OFFSET 0 keeps the lookup a per-row index
/// scan inside a LATERAL instead of a join the planner may hash.
fn children_sql(parent: &str) -> String {
    format!("SELECT c.id FROM customers c WHERE c.tenant_id = $1 AND c.parent_customer_id = {parent} OFFSET 0")
}

pub async fn child_counts(conn: &mut AsyncPgConnection, tenant_id: Uuid, ids: &[Uuid]) -> QueryResult<Vec<CountRow>> {
    diesel::sql_query(
        "SELECT parent_customer_id AS key, count(*) AS count
         FROM customers
         WHERE tenant_id = $1 AND parent_customer_id = ANY($2)
         GROUP BY parent_customer_id",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<SqlUuid>, _>(ids)
    .prepared()
    .load(conn)
    .await
}

pub async fn descendant_counts(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> QueryResult<Vec<CountRow>> {
    diesel::sql_query(format!(
        "WITH RECURSIVE tree(key, id, lvl) AS (
             SELECT k.key, c.id, 1 FROM unnest($2::uuid[]) AS k(key)
             CROSS JOIN LATERAL ({children_of_key}) c
             UNION ALL
             SELECT t.key, c.id, t.lvl + 1 FROM tree t
             CROSS JOIN LATERAL ({children_of_tree}) c
             WHERE t.lvl < 64
         )
         SELECT key, count(*) AS count FROM tree GROUP BY key",
        children_of_key = children_sql("k.key"),
        children_of_tree = children_sql("t.id"),
    ))
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<SqlUuid>, _>(ids)
    .prepared()
    .load(conn)
    .await
}

/// The ancestors of many customers, each list nearest first.
pub async fn ancestors(conn: &mut AsyncPgConnection, tenant_id: Uuid, ids: &[Uuid]) -> QueryResult<Vec<AncestorRow>> {
    static COLUMNS: LazyLock<String> = LazyLock::new(|| columns_of::<CustomerRow>("customers", "c"));
    let columns = COLUMNS.as_str();
    diesel::sql_query(format!(
        "WITH RECURSIVE up(key, id, distance) AS (
             SELECT k.key, c.parent_customer_id, 1 FROM unnest($2::uuid[]) AS k(key)
             CROSS JOIN LATERAL ({parent_of_key}) c
             WHERE c.parent_customer_id IS NOT NULL
             UNION ALL
             SELECT u.key, c.parent_customer_id, u.distance + 1 FROM up u
             CROSS JOIN LATERAL ({parent_of_up}) c
             WHERE c.parent_customer_id IS NOT NULL AND u.distance < 64
         )
         SELECT u.key, {columns}
         FROM up u
         CROSS JOIN LATERAL (SELECT * FROM customers c WHERE c.tenant_id = $1 AND c.id = u.id OFFSET 0) c
         ORDER BY u.key, u.distance",
        parent_of_key = parent_sql("k.key"),
        parent_of_up = parent_sql("u.id"),
    ))
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<SqlUuid>, _>(ids)
    .prepared()
    .load(conn)
    .await
}

/// Levels in the subtree rooted at `id`, counting `id` itself (1 for a leaf).
pub async fn subtree_height(conn: &mut AsyncPgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<i32> {
    #[derive(QueryableByName)]
    struct Height {
        #[diesel(sql_type = Int4)]
        height: i32,
    }
    let row: Height = diesel::sql_query(
        "WITH RECURSIVE down(id, lvl) AS (
             SELECT $2::uuid, 1
             UNION ALL
             SELECT c.id, d.lvl + 1 FROM down d
             JOIN customers c ON c.tenant_id = $1 AND c.parent_customer_id = d.id
             WHERE d.lvl < 64
         )
         SELECT max(lvl) AS height FROM down",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(id)
    .get_result(conn)
    .await?;
    Ok(row.height)
}
