//! Hierarchy queries, each batched over many customers in one statement so
//! DataLoaders can answer a whole page at once. Recursion stops at 64 levels
//! as a guard; the configured depth limit is far below it.

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Int4, Nullable, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

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
    let (ids, afters, limits) = page_arrays(keys);
    diesel::sql_query(
        "SELECT k.idx, c.*
         FROM unnest($2::uuid[], $3::uuid[], $4::int8[]) WITH ORDINALITY AS k(parent, after, lim, idx)
         CROSS JOIN LATERAL (
             SELECT * FROM customers c
             WHERE c.tenant_id = $1 AND c.parent_customer_id = k.parent
               AND (k.after IS NULL OR c.id > k.after)
             ORDER BY c.id
             LIMIT k.lim
         ) c
         ORDER BY k.idx, c.id",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Array<Nullable<SqlUuid>>, _>(afters)
    .bind::<Array<BigInt>, _>(limits)
    .load(conn)
    .await
}

/// Pages of whole subtrees (every level below the customer), in id order.
pub async fn descendant_pages(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    keys: &[PageKey],
) -> QueryResult<Vec<IndexedRow>> {
    let (ids, afters, limits) = page_arrays(keys);
    diesel::sql_query(
        "WITH RECURSIVE k AS (
             SELECT * FROM unnest($2::uuid[], $3::uuid[], $4::int8[]) WITH ORDINALITY AS k(root, after, lim, idx)
         ), tree(idx, id, lvl) AS (
             SELECT k.idx, c.id, 1 FROM k
             JOIN customers c ON c.tenant_id = $1 AND c.parent_customer_id = k.root
             UNION ALL
             SELECT t.idx, c.id, t.lvl + 1 FROM tree t
             JOIN customers c ON c.tenant_id = $1 AND c.parent_customer_id = t.id
             WHERE t.lvl < 64
         ), ranked AS (
             SELECT t.idx, t.id, row_number() OVER (PARTITION BY t.idx ORDER BY t.id) AS rn
             FROM tree t JOIN k ON k.idx = t.idx
             WHERE k.after IS NULL OR t.id > k.after
         )
         SELECT r.idx, c.*
         FROM ranked r
         JOIN k ON k.idx = r.idx
         JOIN customers c ON c.tenant_id = $1 AND c.id = r.id
         WHERE r.rn <= k.lim
         ORDER BY r.idx, r.id",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Array<Nullable<SqlUuid>>, _>(afters)
    .bind::<Array<BigInt>, _>(limits)
    .load(conn)
    .await
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
    .load(conn)
    .await
}

pub async fn descendant_counts(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> QueryResult<Vec<CountRow>> {
    diesel::sql_query(
        "WITH RECURSIVE tree(key, id, lvl) AS (
             SELECT c.parent_customer_id, c.id, 1 FROM customers c
             WHERE c.tenant_id = $1 AND c.parent_customer_id = ANY($2)
             UNION ALL
             SELECT t.key, c.id, t.lvl + 1 FROM tree t
             JOIN customers c ON c.tenant_id = $1 AND c.parent_customer_id = t.id
             WHERE t.lvl < 64
         )
         SELECT key, count(*) AS count FROM tree GROUP BY key",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<SqlUuid>, _>(ids)
    .load(conn)
    .await
}

/// The ancestors of many customers, each list nearest first.
pub async fn ancestors(conn: &mut AsyncPgConnection, tenant_id: Uuid, ids: &[Uuid]) -> QueryResult<Vec<AncestorRow>> {
    diesel::sql_query(
        "WITH RECURSIVE up(key, id, distance) AS (
             SELECT c.id, c.parent_customer_id, 1 FROM customers c
             WHERE c.tenant_id = $1 AND c.id = ANY($2) AND c.parent_customer_id IS NOT NULL
             UNION ALL
             SELECT u.key, c.parent_customer_id, u.distance + 1 FROM up u
             JOIN customers c ON c.tenant_id = $1 AND c.id = u.id
             WHERE c.parent_customer_id IS NOT NULL AND u.distance < 64
         )
         SELECT u.key, c.*
         FROM up u JOIN customers c ON c.tenant_id = $1 AND c.id = u.id
         ORDER BY u.key, u.distance",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<SqlUuid>, _>(ids)
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
