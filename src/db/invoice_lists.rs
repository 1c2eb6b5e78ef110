//! Lists of invoices beyond one customer's: the tenant's whole list with
//! its filters, and the invoices of subscriptions.
//!
//! The tenant's list is ordered by invoice date (`invoices.invoice_date`:
//! issued, or created for drafts), newest first, then by id. Every
//! (status, payment status) pair an invoice can be in has its own index
//! range in that order (`invoices_listed`, and `invoices_customer_listed`
//! for one payer), so a page reads at most its size from each of the pairs
//! the filter allows and merges them: its cost follows the page, never
//! the tenant's number of invoices. Each filter shape has its own
//! statement text, holding only the conditions it uses, so the generic
//! plan of a prepared statement sees exact index conditions.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::MAX_UUID;
use crate::db::invoices::{IndexedCount, IndexedInvoice, InvoiceRow};
use crate::db::prepared::{PreparedExt, columns_of};
use crate::domain::invoice::{InvoiceStatus, PaymentStatus, STATUS_PAIRS, is_open};

/// What a tenant's invoice list is narrowed to; every part is optional and
/// they combine (all must hold).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct InvoiceFilter {
    /// The payer.
    pub customer_id: Option<Uuid>,
    pub status: Option<InvoiceStatus>,
    pub payment_status: Option<PaymentStatus>,
    /// Invoice date at or after.
    pub from: Option<DateTime<Utc>>,
    /// Invoice date before.
    pub to: Option<DateTime<Utc>>,
    /// Some(true): only overdue invoices (finalized, an amount due, past
    /// their due date); Some(false): only those that are not.
    pub overdue: Option<bool>,
}

/// Where a page of the tenant's list starts: below this invoice date and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InvoicePosition {
    pub at: DateTime<Utc>,
    pub id: Uuid,
}

/// One requested page of the tenant's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TenantInvoicePageKey {
    pub filter: InvoiceFilter,
    pub after: Option<InvoicePosition>,
    pub limit: i64,
}

/// How the filter's (status, payment status) pairs are read.
struct Reads {
    /// Pairs read in list order through `invoices_listed`: all the pairs
    /// the filter allows, except the open ones when `overdue: false`.
    walked: Vec<(InvoiceStatus, PaymentStatus)>,
    /// With `overdue: false`, the open pairs the filter allows: read
    /// through the invoices not yet due (a range of `invoices_open_due`).
    not_yet_due: Vec<PaymentStatus>,
}

impl Reads {
    fn of(filter: &InvoiceFilter) -> Self {
        let allowed = STATUS_PAIRS.into_iter().filter(|(status, payment)| {
            filter.status.is_none_or(|s| s == *status) && filter.payment_status.is_none_or(|p| p == *payment)
        });
        let mut reads = Reads {
            walked: Vec::new(),
            not_yet_due: Vec::new(),
        };
        for (status, payment) in allowed {
            match filter.overdue {
                // Only an open invoice can be overdue.
                Some(true) if !is_open(status, payment) => {}
                Some(false) if is_open(status, payment) => reads.not_yet_due.push(payment),
                _ => reads.walked.push((status, payment)),
            }
        }
        reads
    }

    fn is_empty(&self) -> bool {
        self.walked.is_empty() && self.not_yet_due.is_empty()
    }
}

/// The statement's parameters, in one fixed numbering for every shape (a
/// shape's text uses the ones it needs):
/// $1 tenant, $2 limit, $3/$4 walked statuses and payment statuses,
/// $5 customer, $6 from, $7 to, $8/$9 cursor date and id, $10 now,
/// $11 payment statuses read among the not yet due.
fn conditions(filter: &InvoiceFilter, after: bool) -> String {
    let mut sql = String::new();
    if filter.customer_id.is_some() {
        sql.push_str(" AND i.customer_id = $5");
    }
    if filter.from.is_some() {
        sql.push_str(" AND i.invoice_date >= $6");
    }
    if filter.to.is_some() {
        sql.push_str(" AND i.invoice_date < $7");
    }
    if after {
        sql.push_str(" AND (i.invoice_date, i.id) < ($8, $9)");
    }
    sql
}

/// Whether a statement reads the rows of a page or counts them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Read {
    Page,
    Count,
}

impl Read {
    /// What a branch selects: whole rows for a page; for a count only
    /// what the index holds, so the count can be an index-only scan.
    fn columns(self) -> &'static str {
        match self {
            Read::Page => "*",
            Read::Count => "i.id",
        }
    }
}

/// The walked pairs' rows: per pair, an index range in list order.
fn walked_sql(filter: &InvoiceFilter, after: bool, read: Read) -> String {
    let overdue = if filter.overdue == Some(true) {
        " AND i.due_at < $10"
    } else {
        ""
    };
    let order = match read {
        Read::Page => " ORDER BY i.invoice_date DESC, i.id DESC LIMIT $2",
        Read::Count => "",
    };
    format!(
        "SELECT i.* FROM unnest($3::text[], $4::text[]) AS p(status, pay)
         CROSS JOIN LATERAL (
             SELECT {columns} FROM invoices i
             WHERE i.tenant_id = $1 AND i.status = p.status AND i.payment_status = p.pay{conditions}{overdue}
            {order}
         ) i",
        columns = read.columns(),
        conditions = conditions(filter, after),
    )
}

/// The open invoices not yet due: few (what is owed and not late), read
/// through their due dates, then put in list order.
fn not_yet_due_sql(filter: &InvoiceFilter, after: bool, read: Read) -> String {
    format!(
        "SELECT {columns} FROM invoices i
         WHERE i.tenant_id = $1 AND i.status = 'FINALIZED' AND i.total > i.amount_paid + i.amount_credited
           AND i.due_at >= $10 AND i.payment_status = ANY($11::text[]){conditions}
         OFFSET 0",
        columns = read.columns(),
        conditions = conditions(filter, after),
    )
}

fn page_sql(filter: &InvoiceFilter, after: bool) -> String {
    static COLUMNS: LazyLock<String> = LazyLock::new(|| columns_of::<InvoiceRow>("invoices", "c"));
    let mut branches = format!("({})", walked_sql(filter, after, Read::Page));
    if filter.overdue == Some(false) {
        branches.push_str(&format!(" UNION ALL ({})", not_yet_due_sql(filter, after, Read::Page)));
    }
    format!(
        "SELECT 1::int8 AS idx, {columns} FROM ({branches}) c
         ORDER BY c.invoice_date DESC, c.id DESC
         LIMIT $2",
        columns = COLUMNS.as_str(),
    )
}

fn count_sql(filter: &InvoiceFilter) -> String {
    let mut sql = format!(
        "SELECT 1::int8 AS idx, (SELECT count(*) FROM ({walked}) w)",
        walked = walked_sql(filter, false, Read::Count)
    );
    if filter.overdue == Some(false) {
        sql.push_str(&format!(
            " + (SELECT count(*) FROM ({not_yet_due}) d)",
            not_yet_due = not_yet_due_sql(filter, false, Read::Count)
        ));
    }
    sql.push_str(" AS count");
    sql
}

/// Binds the fixed parameters; `sql` decides which it reads.
#[allow(clippy::too_many_arguments)]
async fn run<T: diesel::QueryableByName<diesel::pg::Pg> + Send + 'static>(
    conn: &mut AsyncPgConnection,
    sql: String,
    tenant_id: Uuid,
    filter: &InvoiceFilter,
    reads: &Reads,
    after: Option<InvoicePosition>,
    limit: i64,
    now: DateTime<Utc>,
) -> QueryResult<Vec<T>> {
    let statuses: Vec<&str> = reads.walked.iter().map(|(s, _)| s.as_str()).collect();
    let pays: Vec<&str> = reads.walked.iter().map(|(_, p)| p.as_str()).collect();
    let not_yet_due: Vec<&str> = reads.not_yet_due.iter().map(|p| p.as_str()).collect();
    diesel::sql_query(sql)
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<BigInt, _>(limit)
        .bind::<Array<Text>, _>(statuses)
        .bind::<Array<Text>, _>(pays)
        .bind::<Nullable<SqlUuid>, _>(filter.customer_id)
        .bind::<Nullable<Timestamptz>, _>(filter.from)
        .bind::<Nullable<Timestamptz>, _>(filter.to)
        .bind::<Nullable<Timestamptz>, _>(after.map(|a| a.at))
        .bind::<Nullable<SqlUuid>, _>(after.map(|a| a.id))
        .bind::<Timestamptz, _>(now)
        .bind::<Array<Text>, _>(not_yet_due)
        .prepared()
        .load(conn)
        .await
}

/// One page of the tenant's invoices, in list order (plus the row beyond
/// it, when `limit` asks for it). `now` decides what is overdue.
pub async fn tenant_invoice_page(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    key: &TenantInvoicePageKey,
    now: DateTime<Utc>,
) -> QueryResult<Vec<InvoiceRow>> {
    let reads = Reads::of(&key.filter);
    if reads.is_empty() || key.limit <= 0 {
        return Ok(Vec::new());
    }
    let sql = page_sql(&key.filter, key.after.is_some());
    let rows: Vec<IndexedInvoice> = run(conn, sql, tenant_id, &key.filter, &reads, key.after, key.limit, now).await?;
    Ok(rows.into_iter().map(|r| r.invoice).collect())
}

/// How many of the tenant's invoices the filter lets through: counted on
/// the same index ranges, so the cost follows that number.
pub async fn tenant_invoice_count(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    filter: &InvoiceFilter,
    now: DateTime<Utc>,
) -> QueryResult<i64> {
    let reads = Reads::of(filter);
    if reads.is_empty() {
        return Ok(0);
    }
    let rows: Vec<IndexedCount> = run(conn, count_sql(filter), tenant_id, filter, &reads, None, 0, now).await?;
    Ok(rows.iter().map(|r| r.count).sum())
}

/// One requested page of a subscription's invoices, newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubscriptionInvoicePageKey {
    pub subscription_id: Uuid,
    pub status: Option<InvoiceStatus>,
    pub after: Option<Uuid>,
    pub limit: i64,
}

/// The statuses an invoice can have, as an SQL array literal.
fn all_statuses_sql() -> String {
    let names: Vec<String> = InvoiceStatus::ALL.iter().map(|s| format!("'{}'", s.as_str())).collect();
    format!("ARRAY[{}]", names.join(", "))
}

/// Pages of invoices, newest first, for many subscriptions at once. Per
/// key, each status asked for is one range of `invoices_subscription_status`
/// read backwards from the cursor (at most the page size); the candidates
/// are then ranked per key.
pub async fn subscription_invoice_pages(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    keys: &[SubscriptionInvoicePageKey],
) -> QueryResult<Vec<IndexedInvoice>> {
    let ids: Vec<Uuid> = keys.iter().map(|k| k.subscription_id).collect();
    let statuses: Vec<Option<InvoiceStatus>> = keys.iter().map(|k| k.status).collect();
    let afters: Vec<Option<Uuid>> = keys.iter().map(|k| k.after).collect();
    let limits: Vec<i64> = keys.iter().map(|k| k.limit).collect();
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT c.idx, {columns}
             FROM (
                 SELECT k.idx, k.lim, i.*, row_number() OVER (PARTITION BY k.idx ORDER BY i.id DESC) AS rn
                 FROM unnest($2::uuid[], $3::text[], $4::uuid[], $5::int8[])
                     WITH ORDINALITY AS k(subscription, status, after, lim, idx)
                 CROSS JOIN LATERAL unnest(
                     CASE WHEN k.status IS NULL THEN {all} ELSE ARRAY[k.status] END
                 ) AS st(status)
                 CROSS JOIN LATERAL (
                     SELECT * FROM invoices i
                     WHERE i.tenant_id = $1 AND i.subscription_id = k.subscription AND i.status = st.status
                       AND i.id < COALESCE(k.after, {MAX_UUID})
                     ORDER BY i.id DESC
                     LIMIT k.lim
                 ) i
             ) c
             WHERE c.rn <= c.lim
             ORDER BY c.idx, c.id DESC",
            columns = columns_of::<InvoiceRow>("invoices", "c"),
            all = all_statuses_sql(),
        )
    });
    diesel::sql_query(SQL.as_str())
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<Array<SqlUuid>, _>(ids)
        .bind::<Array<Nullable<Text>>, _>(statuses)
        .bind::<Array<Nullable<SqlUuid>>, _>(afters)
        .bind::<Array<BigInt>, _>(limits)
        .prepared()
        .load(conn)
        .await
}

/// How many invoices (of one status, or all) each subscription has: one
/// count over each subscription's index range.
pub async fn subscription_invoice_counts(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    keys: &[(Uuid, Option<InvoiceStatus>)],
) -> QueryResult<Vec<IndexedCount>> {
    let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
    let statuses: Vec<Option<InvoiceStatus>> = keys.iter().map(|k| k.1).collect();
    diesel::sql_query(
        "SELECT k.idx, (
             SELECT count(*) FROM invoices i
             WHERE i.tenant_id = $1 AND i.subscription_id = k.subscription
               AND (k.status IS NULL OR i.status = k.status)
         ) AS count
         FROM unnest($2::uuid[], $3::text[]) WITH ORDINALITY AS k(subscription, status, idx)",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Array<Nullable<Text>>, _>(statuses)
    .prepared()
    .load(conn)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reads(filter: InvoiceFilter) -> (Vec<(InvoiceStatus, PaymentStatus)>, Vec<PaymentStatus>) {
        let r = Reads::of(&filter);
        (r.walked, r.not_yet_due)
    }

    #[test]
    fn the_filter_decides_which_ranges_are_read() {
        use InvoiceStatus::*;
        use PaymentStatus::*;
        let all = InvoiceFilter::default();
        assert_eq!(reads(all), (STATUS_PAIRS.to_vec(), vec![]));
        let drafts = InvoiceFilter {
            status: Some(Draft),
            ..all
        };
        assert_eq!(reads(drafts), (vec![(Draft, Pending)], vec![]));
        let pending = InvoiceFilter {
            payment_status: Some(Pending),
            ..all
        };
        assert_eq!(reads(pending), (vec![(Draft, Pending), (Finalized, Pending)], vec![]));
        let overdue = InvoiceFilter {
            overdue: Some(true),
            ..all
        };
        assert_eq!(
            reads(overdue),
            (vec![(Finalized, Pending), (Finalized, PartiallyPaid)], vec![])
        );
        let not_overdue = InvoiceFilter {
            overdue: Some(false),
            ..all
        };
        assert_eq!(
            reads(not_overdue),
            (
                vec![(Draft, Pending), (Finalized, Paid), (Voided, Void)],
                vec![Pending, PartiallyPaid]
            )
        );
        // Filters that no invoice can meet read nothing.
        for impossible in [
            InvoiceFilter {
                status: Some(Draft),
                payment_status: Some(Paid),
                ..all
            },
            InvoiceFilter {
                status: Some(Voided),
                overdue: Some(true),
                ..all
            },
            InvoiceFilter {
                payment_status: Some(Paid),
                overdue: Some(true),
                ..all
            },
        ] {
            assert!(Reads::of(&impossible).is_empty(), "{impossible:?}");
        }
    }

    #[test]
    fn each_shape_holds_only_its_conditions() {
        let all = InvoiceFilter::default();
        let sql = page_sql(&all, false);
        for absent in ["$5", "$6", "$7", "$8", "$10", "$11"] {
            assert!(!sql.contains(absent), "{absent} in {sql}");
        }
        let narrow = InvoiceFilter {
            customer_id: Some(Uuid::nil()),
            from: Some(Utc::now()),
            to: Some(Utc::now()),
            overdue: Some(false),
            ..all
        };
        let sql = page_sql(&narrow, true);
        for present in ["$5", "$6", "$7", "($8, $9)", "$10", "$11"] {
            assert!(sql.contains(present), "{present} missing in {sql}");
        }
    }
}
