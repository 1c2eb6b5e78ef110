//! The subscriptions and subscription_pauses tables.
//!
//! Status is derived, in SQL as in `domain::subscription::status_at`; the
//! `STATUS_SQL` expression below must agree with it (the API tests filter by
//! every status).

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::MIN_UUID;
use crate::db::prepared::{PreparedExt, columns_of};
use crate::db::schema::{subscription_pauses, subscriptions};
use crate::domain::money::Currency;
use crate::domain::period::BillingPeriod;
use crate::domain::period::Period;
use crate::domain::subscription::{Payer, Status};

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = subscriptions, check_for_backend(Pg))]
pub struct SubscriptionRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub customer_id: Uuid,
    pub plan_id: Uuid,
    pub payer: Payer,
    pub currency: Currency,
    pub billing_period: BillingPeriod,
    pub billing_period_count: i32,
    pub start_at: DateTime<Utc>,
    pub billing_anchor: DateTime<Utc>,
    pub trial_end: Option<DateTime<Utc>>,
    pub paused_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The next boundary the billing run invoices; None once all are.
    pub next_billing_at: Option<DateTime<Utc>>,
    /// Whether the plan or quantities ever changed (see subscription_phases);
    /// a subscription never changed is read without its phases.
    pub phased: bool,
    /// The last change of billing period and the rule before it (see
    /// `domain::subscription::Cut`); all four set or none.
    pub cut_at: Option<DateTime<Utc>>,
    pub cut_anchor: Option<DateTime<Utc>>,
    pub cut_billing_period: Option<BillingPeriod>,
    pub cut_billing_period_count: Option<i32>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = subscription_pauses, check_for_backend(Pg))]
pub struct PauseRow {
    pub tenant_id: Uuid,
    pub subscription_id: Uuid,
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
}

impl PauseRow {
    /// The stretch the pause covered, [started_at, ended_at).
    pub fn period(&self) -> Period {
        Period {
            start: self.started_at,
            end: self.ended_at,
        }
    }
}

/// A subscription's status at `$now` (bound as the given parameter).
fn status_sql(now: &str) -> String {
    format!(
        "CASE WHEN s.ends_at <= {now} THEN 'CANCELLED'
              WHEN s.paused_at IS NOT NULL THEN 'PAUSED'
              WHEN s.trial_end > {now} THEN 'TRIALING'
              ELSE 'ACTIVE' END"
    )
}

pub async fn insert(conn: &mut AsyncPgConnection, row: &SubscriptionRow) -> QueryResult<SubscriptionRow> {
    diesel::insert_into(subscriptions::table)
        .values(row)
        .returning(SubscriptionRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn by_ids(conn: &mut AsyncPgConnection, tenant_id: Uuid, ids: &[Uuid]) -> QueryResult<Vec<SubscriptionRow>> {
    subscriptions::table
        .filter(subscriptions::tenant_id.eq(tenant_id))
        .filter(subscriptions::id.eq_any(ids))
        .select(SubscriptionRow::as_select())
        .load(conn)
        .await
}

/// Locks the subscription for the rest of the transaction.
pub async fn for_update(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<SubscriptionRow>> {
    subscriptions::table
        .filter(subscriptions::tenant_id.eq(tenant_id))
        .filter(subscriptions::id.eq(id))
        .select(SubscriptionRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// Writes the lifecycle instants a transition changed.
pub async fn update_lifecycle(
    conn: &mut AsyncPgConnection,
    row: &SubscriptionRow,
    now: DateTime<Utc>,
) -> QueryResult<SubscriptionRow> {
    diesel::update(
        subscriptions::table
            .filter(subscriptions::tenant_id.eq(row.tenant_id))
            .filter(subscriptions::id.eq(row.id)),
    )
    .set((
        subscriptions::paused_at.eq(row.paused_at),
        subscriptions::ends_at.eq(row.ends_at),
        subscriptions::cancelled_at.eq(row.cancelled_at),
        subscriptions::next_billing_at.eq(row.next_billing_at),
        subscriptions::plan_id.eq(row.plan_id),
        subscriptions::phased.eq(row.phased),
        subscriptions::billing_anchor.eq(row.billing_anchor),
        subscriptions::billing_period.eq(row.billing_period),
        subscriptions::billing_period_count.eq(row.billing_period_count),
        subscriptions::cut_at.eq(row.cut_at),
        subscriptions::cut_anchor.eq(row.cut_anchor),
        subscriptions::cut_billing_period.eq(row.cut_billing_period),
        subscriptions::cut_billing_period_count.eq(row.cut_billing_period_count),
        subscriptions::updated_at.eq(now),
    ))
    .returning(SubscriptionRow::as_returning())
    .get_result(conn)
    .await
}

pub async fn insert_pause(conn: &mut AsyncPgConnection, pause: &PauseRow) -> QueryResult<()> {
    diesel::insert_into(subscription_pauses::table)
        .values(pause)
        .execute(conn)
        .await
        .map(drop)
}

/// The closed pauses of many subscriptions, in time order.
pub async fn pauses_of(conn: &mut AsyncPgConnection, tenant_id: Uuid, ids: &[Uuid]) -> QueryResult<Vec<PauseRow>> {
    subscription_pauses::table
        .filter(subscription_pauses::tenant_id.eq(tenant_id))
        .filter(subscription_pauses::subscription_id.eq_any(ids))
        .order((subscription_pauses::subscription_id, subscription_pauses::started_at))
        .select(PauseRow::as_select())
        .load(conn)
        .await
}

/// Whether the customer has a subscription that has not ended at `now`.
pub async fn has_live_subscription(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    customer_id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        subscriptions::table
            .filter(subscriptions::tenant_id.eq(tenant_id))
            .filter(subscriptions::customer_id.eq(customer_id))
            .filter(subscriptions::ends_at.is_null().or(subscriptions::ends_at.gt(now))),
    ))
    .get_result(conn)
    .await
}

/// One requested page of a customer's subscriptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubscriptionPageKey {
    pub customer_id: Uuid,
    /// One status, or None for every status.
    pub status: Option<Status>,
    pub after: Option<Uuid>,
    pub limit: i64,
}

/// A row answering the `idx`-th requested key (1-based).
#[derive(QueryableByName)]
pub struct IndexedSubscription {
    #[diesel(sql_type = BigInt)]
    pub idx: i64,
    #[diesel(embed)]
    pub subscription: SubscriptionRow,
}

/// Pages of subscriptions, in creation order, for many customers at once.
pub async fn subscription_pages(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    keys: &[SubscriptionPageKey],
    now: DateTime<Utc>,
) -> QueryResult<Vec<IndexedSubscription>> {
    let ids: Vec<Uuid> = keys.iter().map(|k| k.customer_id).collect();
    let statuses: Vec<Option<&str>> = keys.iter().map(|k| k.status.map(Status::as_str)).collect();
    let afters: Vec<Option<Uuid>> = keys.iter().map(|k| k.after).collect();
    let limits: Vec<i64> = keys.iter().map(|k| k.limit).collect();
    static COLUMNS: LazyLock<String> = LazyLock::new(|| columns_of::<SubscriptionRow>("subscriptions", "s"));
    let columns = COLUMNS.as_str();
    diesel::sql_query(format!(
        "SELECT k.idx, {columns}
         FROM unnest($2::uuid[], $3::text[], $4::uuid[], $5::int8[]) WITH ORDINALITY AS k(customer, status, after, lim, idx)
         CROSS JOIN LATERAL (
             SELECT * FROM subscriptions s
             WHERE s.tenant_id = $1 AND s.customer_id = k.customer
               AND s.id > COALESCE(k.after, {MIN_UUID})
               AND (k.status IS NULL OR {status} = k.status)
             ORDER BY s.id
             LIMIT k.lim
         ) s
         ORDER BY k.idx, s.id",
        status = status_sql("$6")
    ))
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Array<Nullable<Text>>, _>(statuses)
    .bind::<Array<Nullable<SqlUuid>>, _>(afters)
    .bind::<Array<BigInt>, _>(limits)
    .bind::<Timestamptz, _>(now)
    .prepared()
    .load(conn)
    .await
}

#[derive(QueryableByName)]
pub struct SubscriptionCount {
    #[diesel(sql_type = BigInt)]
    pub idx: i64,
    #[diesel(sql_type = BigInt)]
    pub count: i64,
}

/// How many subscriptions (of one status, or all) each customer has.
pub async fn subscription_counts(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    keys: &[(Uuid, Option<Status>)],
    now: DateTime<Utc>,
) -> QueryResult<Vec<SubscriptionCount>> {
    let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
    let statuses: Vec<Option<&str>> = keys.iter().map(|k| k.1.map(Status::as_str)).collect();
    diesel::sql_query(format!(
        "SELECT k.idx, (
             SELECT count(*) FROM subscriptions s
             WHERE s.tenant_id = $1 AND s.customer_id = k.customer
               AND (k.status IS NULL OR {status} = k.status)
         ) AS count
         FROM unnest($2::uuid[], $3::text[]) WITH ORDINALITY AS k(customer, status, idx)",
        status = status_sql("$4")
    ))
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Array<Nullable<Text>>, _>(statuses)
    .bind::<Timestamptz, _>(now)
    .prepared()
    .load(conn)
    .await
}

/// Whether the customer in column `customer` pays for itself at the time
/// bound as `now`: it has a SELF subscription that has not ended. (A
/// customer without a parent pays for itself too; callers add that.)
/// Expects the tenant bound as $1.
fn pays_self_sql(customer: &str, now: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM subscriptions p
                 WHERE p.tenant_id = $1 AND p.customer_id = {customer} AND p.payer = 'SELF'
                   AND (p.ends_at IS NULL OR p.ends_at > {now}))"
    )
}

/// The subscriptions each customer pays for at `now`, for many customers:
/// its own with payer SELF (or PARENT, when it has no parent to pass them
/// to), and for keys with `include_children` those of descendants whose
/// payer is PARENT and whose nearest paying ancestor it is.
///
/// A customer pays for itself when it has a live SELF subscription, or has
/// no parent. Charges of PARENT subscriptions climb past customers that do
/// not, so the walk down from a customer stops below each one that does.
pub async fn paid_subscriptions(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    keys: &[(Uuid, bool)],
    now: DateTime<Utc>,
) -> QueryResult<Vec<IndexedSubscription>> {
    let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
    let children: Vec<bool> = keys.iter().map(|k| k.1).collect();
    let pays_self = pays_self_sql("c.id", "$4");
    static COLUMNS: LazyLock<String> = LazyLock::new(|| columns_of::<SubscriptionRow>("subscriptions", "s"));
    let columns = COLUMNS.as_str();
    diesel::sql_query(format!(
        "WITH RECURSIVE req AS (
             SELECT * FROM unnest($2::uuid[], $3::bool[]) WITH ORDINALITY AS r(root, children, idx)
         ), tree(idx, id, lvl, descend, is_root) AS (
             SELECT req.idx, c.id, 0,
                    req.children AND (c.parent_customer_id IS NULL OR {pays_self}),
                    c.parent_customer_id IS NULL
             FROM req
             CROSS JOIN LATERAL (
                 SELECT c.id, c.parent_customer_id FROM customers c
                 WHERE c.tenant_id = $1 AND c.id = req.root OFFSET 0
             ) c
             UNION ALL
             SELECT t.idx, c.id, t.lvl + 1, NOT {pays_self}, false
             FROM tree t
             -- One index lookup per customer walked, with or without statistics.
             CROSS JOIN LATERAL (
                 SELECT c.id FROM customers c
                 WHERE c.tenant_id = $1 AND c.parent_customer_id = t.id OFFSET 0
             ) c
             WHERE t.descend AND t.lvl < 64
         )
         SELECT t.idx, {columns}
         FROM tree t
         CROSS JOIN LATERAL (
             SELECT * FROM subscriptions s
             WHERE s.tenant_id = $1 AND s.customer_id = t.id
               AND (s.ends_at IS NULL OR s.ends_at > $4)
               AND CASE WHEN t.lvl = 0 THEN s.payer = 'SELF' OR t.is_root ELSE s.payer = 'PARENT' END
             OFFSET 0
         ) s
         ORDER BY t.idx, s.id"
    ))
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Array<Bool>, _>(children)
    .bind::<Timestamptz, _>(now)
    .prepared()
    .load(conn)
    .await
}

/// The id and parent of the customer whose id is in column `id`, looked up
/// by primary key one row at a time (a LATERAL the planner cannot turn
/// into a table scan).
fn parent_sql(id: &str) -> String {
    format!("SELECT a.id, a.parent_customer_id FROM customers a WHERE a.tenant_id = $1 AND a.id = {id} OFFSET 0")
}

#[derive(QueryableByName)]
pub struct PayerRow {
    #[diesel(sql_type = SqlUuid)]
    pub customer_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub payer_id: Uuid,
}

/// For customers whose charges go to a parent: the nearest ancestor that
/// pays for itself at `now`, or the top of the hierarchy; the rule of
/// [`paid_subscriptions`] seen from below.
pub async fn paying_ancestors(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    customer_ids: &[Uuid],
    now: DateTime<Utc>,
) -> QueryResult<Vec<PayerRow>> {
    let pays_self = pays_self_sql("u.id", "$3");
    diesel::sql_query(format!(
        "WITH RECURSIVE up(start, id, parent, dist) AS (
             SELECT k.id, a.id, a.parent_customer_id, 1
             FROM unnest($2::uuid[]) AS k(id)
             CROSS JOIN LATERAL ({customer_k}) c
             CROSS JOIN LATERAL ({parent_of_c}) a
             UNION ALL
             SELECT u.start, a.id, a.parent_customer_id, u.dist + 1
             FROM up u
             CROSS JOIN LATERAL ({parent_of_u}) a
             WHERE u.dist < 64 AND NOT {pays_self}
         )
         SELECT DISTINCT ON (u.start) u.start AS customer_id, u.id AS payer_id
         FROM up u
         WHERE u.parent IS NULL OR {pays_self}
         ORDER BY u.start, u.dist",
        customer_k = parent_sql("k.id"),
        parent_of_c = parent_sql("c.parent_customer_id"),
        parent_of_u = parent_sql("u.parent"),
    ))
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<SqlUuid>, _>(customer_ids)
    .bind::<Timestamptz, _>(now)
    .prepared()
    .load(conn)
    .await
}

/// The (currency, billing period, count) of a plan's subscriptions that
/// have not ended at `now`.
pub async fn live_terms_of_plan(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    plan_id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<Vec<(Currency, BillingPeriod, i32)>> {
    subscriptions::table
        .filter(subscriptions::tenant_id.eq(tenant_id))
        .filter(subscriptions::plan_id.eq(plan_id))
        .filter(subscriptions::ends_at.is_null().or(subscriptions::ends_at.gt(now)))
        .select((
            subscriptions::currency,
            subscriptions::billing_period,
            subscriptions::billing_period_count,
        ))
        .distinct()
        .load(conn)
        .await
}
