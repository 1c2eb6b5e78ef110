//! The invoices, invoice_line_items, invoice_counters and payments tables.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::pg::Pg;
use diesel::pg::PgValue;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Numeric, Record, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::db::MAX_UUID;
use crate::db::json_text::JsonText;
use crate::db::numeric::{ExactDecimal, ExactDecimalOrNull};
use crate::db::prepared::{PreparedExt, columns_of, load_rows_of_keys, rows_of_keys_sql};
use crate::db::schema::{invoice_line_items, invoices, payments};
use crate::db::subscriptions::SubscriptionRow;
use crate::domain::invoice::{InvoiceStatus, PaymentMethod};
use crate::domain::money::Currency;

/// The unique index that allows one invoice per subscription boundary.
pub const SUBSCRIPTION_PERIOD_INDEX: &str = "invoices_subscription_period";
/// The unique index that makes payment idempotency keys single-use.
pub const PAYMENT_KEY_INDEX: &str = "payments_idempotency";
/// The unique index that records a card payment once per PaymentIntent.
pub const CARD_REFERENCE_INDEX: &str = "payments_card_reference";

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = invoices, check_for_backend(Pg))]
pub struct InvoiceRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub customer_id: Uuid,
    pub subscription_id: Option<Uuid>,
    pub status: InvoiceStatus,
    pub number: Option<String>,
    pub currency: Currency,
    pub period_start: Option<DateTime<Utc>>,
    pub period_end: Option<DateTime<Utc>>,
    #[diesel(deserialize_as = ExactDecimal)]
    pub subtotal: Decimal,
    #[diesel(deserialize_as = ExactDecimal)]
    pub credits_applied: Decimal,
    #[diesel(deserialize_as = ExactDecimal)]
    pub total: Decimal,
    #[diesel(deserialize_as = ExactDecimal)]
    pub amount_paid: Decimal,
    pub finalize_after: DateTime<Utc>,
    pub issued_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    pub finalized_at: Option<DateTime<Utc>>,
    pub voided_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Taken from the payer's credit balance at finalization, before wallets.
    #[diesel(deserialize_as = ExactDecimal)]
    pub credit_balance_applied: Decimal,
    /// What the invoice's credit notes add up to.
    #[diesel(deserialize_as = ExactDecimal)]
    pub credit_note_total: Decimal,
    /// The part of `credit_note_total` that cancelled what was still due.
    #[diesel(deserialize_as = ExactDecimal)]
    pub amount_credited: Decimal,
    /// What discounts took off the subtotal.
    #[diesel(deserialize_as = ExactDecimal)]
    pub discount_total: Decimal,
    /// Every tax shown on the invoice.
    #[diesel(deserialize_as = ExactDecimal)]
    pub tax_total: Decimal,
    /// The exclusive part of `tax_total`, added to the total.
    #[diesel(deserialize_as = ExactDecimal)]
    pub tax_added: Decimal,
    /// The payer as it was at finalization (`documents::parties::PartySnapshot`).
    pub billed_to: Option<JsonText>,
    /// The tenant as it was at finalization.
    pub issued_by: Option<JsonText>,
}

impl InvoiceRow {
    /// What the invoice charges before prepaid credits: the subtotal less
    /// discounts, plus exclusive taxes. Negative when credit lines outweigh
    /// the charges; that part went to the payer's credit balance.
    pub fn charged(&self) -> Decimal {
        self.subtotal - self.discount_total + self.tax_added
    }

    /// What the invoice asks for: nothing once voided (a draft shows what
    /// it would ask for if finalized as it stands).
    pub fn amount_due(&self) -> Decimal {
        if self.status == InvoiceStatus::Voided {
            return Decimal::ZERO;
        }
        crate::domain::invoice::amount_due(self.total, self.amount_paid, self.amount_credited)
    }
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = invoice_line_items, check_for_backend(Pg))]
pub struct LineRow {
    pub tenant_id: Uuid,
    /// Stable, so credit notes can name the line.
    pub id: Uuid,
    pub invoice_id: Uuid,
    pub position: i32,
    pub customer_id: Uuid,
    pub price_id: Option<Uuid>,
    pub meter_id: Option<Uuid>,
    pub description: String,
    #[diesel(deserialize_as = ExactDecimal)]
    pub quantity: Decimal,
    #[diesel(deserialize_as = ExactDecimalOrNull)]
    pub unit_amount: Option<Decimal>,
    #[diesel(deserialize_as = ExactDecimal)]
    pub amount: Decimal,
    pub period_start: Option<DateTime<Utc>>,
    pub period_end: Option<DateTime<Utc>>,
    /// The billable fraction of its period a prorated fixed fee bills.
    #[diesel(deserialize_as = ExactDecimalOrNull)]
    pub proration_fraction: Option<Decimal>,
    /// What discounts took off the line.
    #[diesel(deserialize_as = ExactDecimal)]
    pub discount_amount: Decimal,
    /// Every tax on the line.
    #[diesel(deserialize_as = ExactDecimal)]
    pub tax_amount: Decimal,
    /// The exclusive part of `tax_amount`.
    #[diesel(deserialize_as = ExactDecimal)]
    pub tax_added: Decimal,
}

impl LineRow {
    /// What the line asks the customer for: after discounts, with its
    /// exclusive taxes. Credit notes credit a line up to this.
    pub fn charged(&self) -> Decimal {
        self.amount - self.discount_amount + self.tax_added
    }
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = payments, check_for_backend(Pg))]
pub struct PaymentRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub invoice_id: Uuid,
    pub amount: Decimal,
    pub method: PaymentMethod,
    pub reference: Option<String>,
    pub idempotency_key: String,
    pub created_at: DateTime<Utc>,
}

/// Subscriptions with a boundary due by `until`, across tenants, locked;
/// rows another billing run holds are skipped, so runs share the work, and
/// so are those in `skip` (done for this run).
pub async fn due_subscriptions_for_update(
    conn: &mut AsyncPgConnection,
    until: DateTime<Utc>,
    skip: &[Uuid],
    limit: i64,
) -> QueryResult<Vec<SubscriptionRow>> {
    use crate::db::schema::subscriptions;
    subscriptions::table
        .filter(subscriptions::next_billing_at.le(until))
        .filter(diesel::dsl::not(subscriptions::id.eq_any(skip)))
        .order(subscriptions::next_billing_at)
        .limit(limit)
        .select(SubscriptionRow::as_select())
        .for_update()
        .skip_locked()
        .load(conn)
        .await
}

/// Moves each subscription's billing cursor (None: fully billed).
pub async fn advance_billing(
    conn: &mut AsyncPgConnection,
    moves: &[(Uuid, Uuid, Option<DateTime<Utc>>)],
) -> QueryResult<()> {
    let tenants: Vec<Uuid> = moves.iter().map(|m| m.0).collect();
    let ids: Vec<Uuid> = moves.iter().map(|m| m.1).collect();
    let next: Vec<Option<DateTime<Utc>>> = moves.iter().map(|m| m.2).collect();
    diesel::sql_query(
        "UPDATE subscriptions s SET next_billing_at = m.next
         FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[]) AS m(tenant_id, id, next)
         WHERE s.tenant_id = m.tenant_id AND s.id = m.id",
    )
    .bind::<Array<SqlUuid>, _>(tenants)
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Array<Nullable<Timestamptz>>, _>(next)
    .execute(conn)
    .await
    .map(drop)
}

pub async fn insert_invoices(conn: &mut AsyncPgConnection, rows: &[InvoiceRow]) -> QueryResult<()> {
    // Bounded by the bind-parameter limit: callers insert in batches.
    for chunk in rows.chunks(1000) {
        diesel::insert_into(invoices::table).values(chunk).execute(conn).await?;
    }
    Ok(())
}

pub async fn insert_lines(conn: &mut AsyncPgConnection, rows: &[LineRow]) -> QueryResult<()> {
    for chunk in rows.chunks(2000) {
        diesel::insert_into(invoice_line_items::table)
            .values(chunk)
            .execute(conn)
            .await?;
    }
    Ok(())
}

pub async fn invoice_for_update(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<InvoiceRow>> {
    invoices::table
        .filter(invoices::tenant_id.eq(tenant_id))
        .filter(invoices::id.eq(id))
        .select(InvoiceRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

pub async fn invoices_by_ids(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> QueryResult<Vec<InvoiceRow>> {
    invoices::table
        .filter(invoices::tenant_id.eq(tenant_id))
        .filter(invoices::id.eq_any(ids))
        .select(InvoiceRow::as_select())
        .load(conn)
        .await
}

/// Drafts whose grace period is over, across tenants, locked; drafts
/// another run holds are skipped, and so are those in `skip` (refused
/// earlier in this run).
pub async fn due_drafts_for_update(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    skip: &[Uuid],
    limit: i64,
) -> QueryResult<Vec<InvoiceRow>> {
    invoices::table
        .filter(invoices::status.eq(InvoiceStatus::Draft))
        .filter(diesel::dsl::not(invoices::id.eq_any(skip)))
        .filter(invoices::finalize_after.le(now))
        // Numbers follow creation order within a batch.
        .order((invoices::finalize_after, invoices::id))
        .limit(limit)
        .select(InvoiceRow::as_select())
        .for_update()
        .skip_locked()
        .load(conn)
        .await
}

/// Marks up to `limit` finalized invoices of any tenant that are unpaid
/// and past due at `now`, and not yet announced, as announced; returns
/// them. Rows another run holds are skipped, and a marked invoice is never
/// returned again, so each is announced once.
pub async fn mark_overdue_announced(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<InvoiceRow>> {
    diesel::sql_query(
        "UPDATE invoices i SET overdue_announced_at = $1
         FROM (SELECT tenant_id, id FROM invoices
               WHERE status = 'FINALIZED' AND payment_status <> 'PAID'
                 AND overdue_announced_at IS NULL AND due_at < $1
               ORDER BY due_at LIMIT $2
               FOR UPDATE SKIP LOCKED) due
         WHERE i.tenant_id = due.tenant_id AND i.id = due.id
         RETURNING i.*",
    )
    .bind::<Timestamptz, _>(now)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// The lines of many invoices, in order.
pub async fn lines_of(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    invoice_ids: &[Uuid],
) -> QueryResult<Vec<LineRow>> {
    static SQL: LazyLock<String> =
        LazyLock::new(|| rows_of_keys_sql::<LineRow>("invoice_line_items", "invoice_id", "r.invoice_id, r.position"));
    load_rows_of_keys(conn, &SQL, tenant_id, invoice_ids).await
}

/// Lines by their ids.
pub async fn lines_by_ids(conn: &mut AsyncPgConnection, tenant_id: Uuid, ids: &[Uuid]) -> QueryResult<Vec<LineRow>> {
    invoice_line_items::table
        .filter(invoice_line_items::tenant_id.eq(tenant_id))
        .filter(invoice_line_items::id.eq_any(ids))
        .select(LineRow::as_select())
        .load(conn)
        .await
}

/// Rewrites the quantity and amount of lines (usage recomputed at finalization).
pub async fn update_line_amounts(conn: &mut AsyncPgConnection, lines: &[LineRow]) -> QueryResult<()> {
    if lines.is_empty() {
        return Ok(());
    }
    let tenants: Vec<Uuid> = lines.iter().map(|l| l.tenant_id).collect();
    let invoices: Vec<Uuid> = lines.iter().map(|l| l.invoice_id).collect();
    let positions: Vec<i32> = lines.iter().map(|l| l.position).collect();
    let quantities: Vec<Decimal> = lines.iter().map(|l| l.quantity).collect();
    let unit_amounts: Vec<Option<Decimal>> = lines.iter().map(|l| l.unit_amount).collect();
    let amounts: Vec<Decimal> = lines.iter().map(|l| l.amount).collect();
    diesel::sql_query(
        "UPDATE invoice_line_items l SET quantity = u.quantity, unit_amount = u.unit_amount, amount = u.amount
         FROM unnest($1::uuid[], $2::uuid[], $3::int4[], $4::numeric[], $5::numeric[], $6::numeric[])
             AS u(tenant_id, invoice_id, position, quantity, unit_amount, amount)
         WHERE l.tenant_id = u.tenant_id AND l.invoice_id = u.invoice_id AND l.position = u.position",
    )
    .bind::<Array<SqlUuid>, _>(tenants)
    .bind::<Array<SqlUuid>, _>(invoices)
    .bind::<Array<diesel::sql_types::Int4>, _>(positions)
    .bind::<Array<Numeric>, _>(quantities)
    .bind::<Array<Nullable<Numeric>>, _>(unit_amounts)
    .bind::<Array<Numeric>, _>(amounts)
    .execute(conn)
    .await
    .map(drop)
}

/// Takes the tenant's next `count` invoice numbers; returns the first. The
/// counter row stays locked until the transaction ends, so numbers are
/// handed out in commit order, and a rolled-back transaction leaves no gap.
pub async fn take_invoice_numbers(conn: &mut AsyncPgConnection, tenant_id: Uuid, count: i64) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Number {
        #[diesel(sql_type = BigInt)]
        last_number: i64,
    }
    let row: Number = diesel::sql_query(
        "INSERT INTO invoice_counters (tenant_id, last_number) VALUES ($1, $2)
         ON CONFLICT (tenant_id) DO UPDATE SET last_number = invoice_counters.last_number + $2
         RETURNING last_number",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<BigInt, _>(count)
    .get_result(conn)
    .await?;
    Ok(row.last_number - count + 1)
}

/// Writes the invoice's state and amounts.
pub async fn save_invoice(conn: &mut AsyncPgConnection, row: &InvoiceRow) -> QueryResult<InvoiceRow> {
    diesel::update(
        invoices::table
            .filter(invoices::tenant_id.eq(row.tenant_id))
            .filter(invoices::id.eq(row.id)),
    )
    .set((
        invoices::status.eq(&row.status),
        invoices::number.eq(&row.number),
        invoices::subtotal.eq(row.subtotal),
        invoices::credits_applied.eq(row.credits_applied),
        invoices::total.eq(row.total),
        invoices::amount_paid.eq(row.amount_paid),
        invoices::issued_at.eq(row.issued_at),
        invoices::due_at.eq(row.due_at),
        invoices::finalized_at.eq(row.finalized_at),
        invoices::voided_at.eq(row.voided_at),
        invoices::updated_at.eq(row.updated_at),
        invoices::credit_balance_applied.eq(row.credit_balance_applied),
        invoices::credit_note_total.eq(row.credit_note_total),
        invoices::amount_credited.eq(row.amount_credited),
        invoices::discount_total.eq(row.discount_total),
        invoices::tax_total.eq(row.tax_total),
        invoices::tax_added.eq(row.tax_added),
        invoices::billed_to.eq(&row.billed_to),
        invoices::issued_by.eq(&row.issued_by),
    ))
    .returning(InvoiceRow::as_returning())
    .get_result(conn)
    .await
}

/// Writes the finalized state of many invoices in one statement.
pub async fn save_finalized(conn: &mut AsyncPgConnection, rows: &[InvoiceRow]) -> QueryResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let column = |f: fn(&InvoiceRow) -> Decimal| rows.iter().map(f).collect::<Vec<Decimal>>();
    let tenants: Vec<Uuid> = rows.iter().map(|r| r.tenant_id).collect();
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let numbers: Vec<Option<String>> = rows.iter().map(|r| r.number.clone()).collect();
    let issued: Vec<Option<DateTime<Utc>>> = rows.iter().map(|r| r.issued_at).collect();
    let due: Vec<Option<DateTime<Utc>>> = rows.iter().map(|r| r.due_at).collect();
    let billed_to: Vec<Option<&JsonText>> = rows.iter().map(|r| r.billed_to.as_ref()).collect();
    let issued_by: Vec<Option<&JsonText>> = rows.iter().map(|r| r.issued_by.as_ref()).collect();
    diesel::sql_query(
        "UPDATE invoices i SET status = 'FINALIZED', number = u.number, subtotal = u.subtotal,
                credits_applied = u.credits_applied, credit_balance_applied = u.credit_balance_applied,
                total = u.total, issued_at = u.issued_at, due_at = u.due_at,
                finalized_at = u.issued_at, updated_at = u.issued_at,
                discount_total = u.discount_total, tax_total = u.tax_total, tax_added = u.tax_added,
                billed_to = u.billed_to, issued_by = u.issued_by
         FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::numeric[], $5::numeric[], $6::numeric[],
                     $7::numeric[], $8::timestamptz[], $9::timestamptz[], $10::numeric[], $11::numeric[],
                     $12::numeric[], $13::jsonb[], $14::jsonb[])
             AS u(tenant_id, id, number, subtotal, credits_applied, credit_balance_applied, total, issued_at, due_at,
                  discount_total, tax_total, tax_added, billed_to, issued_by)
         WHERE i.tenant_id = u.tenant_id AND i.id = u.id",
    )
    .bind::<Array<SqlUuid>, _>(tenants)
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Array<Nullable<Text>>, _>(numbers)
    .bind::<Array<Numeric>, _>(column(|r| r.subtotal))
    .bind::<Array<Numeric>, _>(column(|r| r.credits_applied))
    .bind::<Array<Numeric>, _>(column(|r| r.credit_balance_applied))
    .bind::<Array<Numeric>, _>(column(|r| r.total))
    .bind::<Array<Nullable<Timestamptz>>, _>(issued)
    .bind::<Array<Nullable<Timestamptz>>, _>(due)
    .bind::<Array<Numeric>, _>(column(|r| r.discount_total))
    .bind::<Array<Numeric>, _>(column(|r| r.tax_total))
    .bind::<Array<Numeric>, _>(column(|r| r.tax_added))
    .bind::<Array<Nullable<diesel::sql_types::Jsonb>>, _>(billed_to)
    .bind::<Array<Nullable<diesel::sql_types::Jsonb>>, _>(issued_by)
    .execute(conn)
    .await
    .map(drop)
}

/// One requested page of a customer's invoices (or its subtree's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InvoicePageKey {
    pub customer_id: Uuid,
    pub include_children: bool,
    pub status: Option<InvoiceStatus>,
    pub after: Option<Uuid>,
    pub limit: i64,
}

#[derive(QueryableByName)]
pub struct IndexedInvoice {
    #[diesel(sql_type = BigInt)]
    pub idx: i64,
    #[diesel(embed)]
    pub invoice: InvoiceRow,
}

/// The SQL types of the columns `LineRow` selects, and of a line as a
/// record of them.
type LineColumns = <<LineRow as Selectable<Pg>>::SelectExpression as Expression>::SqlType;
type LineRecord = Record<LineColumns>;

/// An invoice's lines read in its own row, in position order, as an array
/// of records: decoded by position, with no column names to look up. None
/// when they were not asked for.
#[derive(Debug, FromSqlRow)]
pub struct InvoiceLines(pub Option<Vec<LineRow>>);

impl FromSql<Nullable<Array<LineRecord>>, Pg> for InvoiceLines {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        type Fields = <LineRow as Queryable<LineColumns, Pg>>::Row;
        let records: Vec<Fields> = FromSql::<Array<LineRecord>, Pg>::from_sql(value)?;
        let lines = records
            .into_iter()
            .map(<LineRow as Queryable<LineColumns, Pg>>::build)
            .collect::<deserialize::Result<_>>()?;
        Ok(InvoiceLines(Some(lines)))
    }

    fn from_nullable_sql(value: Option<PgValue<'_>>) -> deserialize::Result<Self> {
        match value {
            Some(value) => Self::from_sql(value),
            None => Ok(InvoiceLines(None)),
        }
    }
}

/// A row of [`invoice_pages`]: its key's position, the invoice, and its
/// lines when asked for.
#[derive(QueryableByName)]
pub struct PagedInvoice {
    #[diesel(sql_type = BigInt)]
    pub idx: i64,
    #[diesel(embed)]
    pub invoice: InvoiceRow,
    #[diesel(sql_type = Nullable<Array<LineRecord>>)]
    pub lines: InvoiceLines,
}

/// The customers each key covers: itself, and with `include_children` its
/// whole subtree, found through the customers_children index one parent at
/// a time (the LATERAL keeps a join against the whole table out of the
/// plan, with or without statistics). `k` must have columns `customer`,
/// `children` and `idx`; `scope` carries the key's other columns along.
fn scope_sql(carried: &str) -> String {
    format!(
        "scope(idx, id, lvl, children{carried}) AS (
             SELECT idx, customer, 0, children{carried} FROM k
             UNION ALL
             SELECT s.idx, c.id, s.lvl + 1, s.children{carried_s} FROM scope s
             CROSS JOIN LATERAL (
                 SELECT c.id FROM customers c
                 WHERE c.tenant_id = $1 AND c.parent_customer_id = s.id
                 OFFSET 0
             ) c
             WHERE s.children AND s.lvl < 64
         )",
        carried_s = carried.replace(", ", ", s."),
    )
}

/// Pages of invoices, newest first, for many keys at once. For every
/// customer a key covers, at most `lim` invoices are read backwards from
/// the key's cursor through an index; those candidates are then ranked per
/// key, so the cost follows the page and the subtrees, never the tenant.
/// With `with_lines`, each invoice comes with its lines (one index range
/// each), saving the page a statement and a round trip for them.
pub async fn invoice_pages(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    keys: &[InvoicePageKey],
    with_lines: bool,
) -> QueryResult<Vec<PagedInvoice>> {
    let ids: Vec<Uuid> = keys.iter().map(|k| k.customer_id).collect();
    let children: Vec<bool> = keys.iter().map(|k| k.include_children).collect();
    let statuses: Vec<Option<InvoiceStatus>> = keys.iter().map(|k| k.status).collect();
    let afters: Vec<Option<Uuid>> = keys.iter().map(|k| k.after).collect();
    let limits: Vec<i64> = keys.iter().map(|k| k.limit).collect();
    static COLUMNS: LazyLock<String> = LazyLock::new(|| columns_of::<InvoiceRow>("invoices", "c"));
    static LINE_COLUMNS: LazyLock<String> = LazyLock::new(|| columns_of::<LineRow>("invoice_line_items", "l"));
    let columns = COLUMNS.as_str();
    let line_columns = LINE_COLUMNS.as_str();
    diesel::sql_query(format!(
        "WITH RECURSIVE k AS (
             SELECT * FROM unnest($2::uuid[], $3::bool[], $4::text[], $5::uuid[], $6::int8[])
                 WITH ORDINALITY AS k(customer, children, status, after, lim, idx)
         ), {scope}, candidates AS (
             -- The invoices' own columns, not a row value: selecting each
             -- field of a row value deforms it again (a quarter of this
             -- statement's time on the bench's page). The outer list names
             -- the columns, so the result's type never changes.
             SELECT s.idx, s.lim, i.*,
                    row_number() OVER (PARTITION BY s.idx ORDER BY i.id DESC) AS rn
             FROM scope s
             CROSS JOIN LATERAL (
                 -- One branch runs: the status index when a status is asked for.
                 (SELECT i.* FROM invoices i
                  WHERE s.status IS NULL AND i.tenant_id = $1 AND i.customer_id = s.id
                    AND i.id < COALESCE(s.after, {MAX_UUID})
                  ORDER BY i.id DESC
                  LIMIT s.lim)
                 UNION ALL
                 (SELECT i.* FROM invoices i
                  WHERE i.tenant_id = $1 AND i.customer_id = s.id AND i.status = s.status
                    AND i.id < COALESCE(s.after, {MAX_UUID})
                  ORDER BY i.id DESC
                  LIMIT s.lim)
             ) i
         )
         SELECT c.idx, {columns},
                CASE WHEN $7 THEN ARRAY(
                    SELECT ROW({line_columns}) FROM invoice_line_items l
                    WHERE l.tenant_id = $1 AND l.invoice_id = c.id
                    ORDER BY l.position
                ) END AS lines
         FROM candidates c
         WHERE c.rn <= c.lim
         ORDER BY c.idx, c.id DESC",
        scope = scope_sql(", status, after, lim"),
    ))
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Array<Bool>, _>(children)
    .bind::<Array<Nullable<Text>>, _>(statuses)
    .bind::<Array<Nullable<SqlUuid>>, _>(afters)
    .bind::<Array<BigInt>, _>(limits)
    .bind::<Bool, _>(with_lines)
    .prepared()
    .load(conn)
    .await
}

#[derive(QueryableByName)]
pub struct IndexedCount {
    #[diesel(sql_type = BigInt)]
    pub idx: i64,
    #[diesel(sql_type = BigInt)]
    pub count: i64,
}

/// How many invoices (of one status, or all) each key's customers have:
/// one count per customer over the (customer, status) index, added up.
pub async fn invoice_counts(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    keys: &[(Uuid, bool, Option<InvoiceStatus>)],
) -> QueryResult<Vec<IndexedCount>> {
    let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
    let children: Vec<bool> = keys.iter().map(|k| k.1).collect();
    let statuses: Vec<Option<InvoiceStatus>> = keys.iter().map(|k| k.2).collect();
    diesel::sql_query(format!(
        "WITH RECURSIVE k AS (
             SELECT * FROM unnest($2::uuid[], $3::bool[], $4::text[])
                 WITH ORDINALITY AS k(customer, children, status, idx)
         ), {scope}
         SELECT s.idx, sum(
             -- Only the branch taken runs; with a status, the index range holds just that status.
             CASE WHEN s.status IS NULL
                  THEN (SELECT count(*) FROM invoices i WHERE i.tenant_id = $1 AND i.customer_id = s.id)
                  ELSE (SELECT count(*) FROM invoices i
                        WHERE i.tenant_id = $1 AND i.customer_id = s.id AND i.status = s.status)
             END
         )::int8 AS count
         FROM scope s
         GROUP BY s.idx",
        scope = scope_sql(", status"),
    ))
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Array<Bool>, _>(children)
    .bind::<Array<Nullable<Text>>, _>(statuses)
    .prepared()
    .load(conn)
    .await
}

#[derive(QueryableByName)]
pub struct BalanceRow {
    #[diesel(sql_type = BigInt)]
    pub idx: i64,
    #[diesel(sql_type = Text)]
    pub currency: Currency,
    #[diesel(sql_type = Numeric)]
    pub amount: Decimal,
}

/// What finalized invoices still ask for (less payments and what credit
/// notes cancelled), per key and currency. Only open invoices are read,
/// through the partial index that holds just those.
pub async fn balances_due(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    keys: &[(Uuid, bool)],
) -> QueryResult<Vec<BalanceRow>> {
    let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
    let children: Vec<bool> = keys.iter().map(|k| k.1).collect();
    diesel::sql_query(format!(
        "WITH RECURSIVE k AS (
             SELECT * FROM unnest($2::uuid[], $3::bool[]) WITH ORDINALITY AS k(customer, children, idx)
         ), {scope}
         SELECT s.idx, i.currency, sum(i.total - i.amount_paid - i.amount_credited) AS amount
         FROM scope s
         CROSS JOIN LATERAL (
             SELECT i.currency, i.total, i.amount_paid, i.amount_credited FROM invoices i
             WHERE i.tenant_id = $1 AND i.customer_id = s.id
               AND i.status = 'FINALIZED' AND i.total > i.amount_paid + i.amount_credited
             OFFSET 0
         ) i
         GROUP BY s.idx, i.currency
         ORDER BY s.idx, i.currency",
        scope = scope_sql(""),
    ))
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Array<Bool>, _>(children)
    .prepared()
    .load(conn)
    .await
}

pub async fn insert_payment(conn: &mut AsyncPgConnection, row: &PaymentRow) -> QueryResult<PaymentRow> {
    diesel::insert_into(payments::table)
        .values(row)
        .returning(PaymentRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn payment_by_key(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    idempotency_key: &str,
) -> QueryResult<Option<PaymentRow>> {
    payments::table
        .filter(payments::tenant_id.eq(tenant_id))
        .filter(payments::idempotency_key.eq(idempotency_key))
        .select(PaymentRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The payments of many invoices, oldest first.
pub async fn payments_of(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    invoice_ids: &[Uuid],
) -> QueryResult<Vec<PaymentRow>> {
    static SQL: LazyLock<String> =
        LazyLock::new(|| rows_of_keys_sql::<PaymentRow>("payments", "invoice_id", "r.invoice_id, r.id"));
    load_rows_of_keys(conn, &SQL, tenant_id, invoice_ids).await
}
