//! The credit_notes, credit_note_lines, refunds and credit_note_counters tables.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Numeric, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::db::prepared::{
    PageOrder, ParentPage, PreparedExt, load_parent_pages, load_rows_of_keys, parent_pages_sql, rows_of_keys_sql,
};
use crate::db::schema::{credit_note_lines, credit_notes, refunds};
use crate::domain::credit_note::{CreditNoteReason, RefundDestination};
use crate::domain::money::Currency;

/// The unique index that makes a credit note's idempotency key single-use.
pub const IDEMPOTENCY_INDEX: &str = "credit_notes_idempotency";

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = credit_notes, check_for_backend(Pg))]
pub struct CreditNoteRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub number: String,
    pub invoice_id: Uuid,
    /// The invoice's payer.
    pub customer_id: Uuid,
    pub currency: Currency,
    pub reason: CreditNoteReason,
    pub memo: Option<String>,
    pub total: Decimal,
    /// The part that cancelled what the invoice still asked for.
    pub amount_credited: Decimal,
    /// The part of money already paid that went back to the customer.
    pub refunded_amount: Decimal,
    /// Where `refunded_amount` went; None when nothing was refunded.
    pub refund_to: Option<RefundDestination>,
    pub wallet_id: Option<Uuid>,
    pub idempotency_key: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The part of `total` that reverses the invoice's taxes.
    pub tax_amount: Decimal,
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = credit_note_lines, check_for_backend(Pg))]
pub struct CreditNoteLineRow {
    pub tenant_id: Uuid,
    pub credit_note_id: Uuid,
    pub line_item_id: Uuid,
    pub amount: Decimal,
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = refunds, check_for_backend(Pg))]
pub struct RefundRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub credit_note_id: Uuid,
    pub amount: Decimal,
    /// The stored method name (CARD, BANK_TRANSFER, OFFLINE, OTHER).
    pub method: String,
    pub reference: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The payment provider's refund, when the provider pays it out.
    pub provider_refund_id: Option<String>,
    pub provider_status: Option<String>,
}

pub async fn insert_credit_note(conn: &mut AsyncPgConnection, row: &CreditNoteRow) -> QueryResult<CreditNoteRow> {
    diesel::insert_into(credit_notes::table)
        .values(row)
        .returning(CreditNoteRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn insert_lines(conn: &mut AsyncPgConnection, rows: &[CreditNoteLineRow]) -> QueryResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    diesel::insert_into(credit_note_lines::table)
        .values(rows)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn insert_refund(conn: &mut AsyncPgConnection, row: &RefundRow) -> QueryResult<()> {
    diesel::insert_into(refunds::table)
        .values(row)
        .execute(conn)
        .await
        .map(drop)
}

/// The credit note an idempotency key already created.
pub async fn credit_note_by_key(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    key: &str,
) -> QueryResult<Option<CreditNoteRow>> {
    credit_notes::table
        .filter(credit_notes::tenant_id.eq(tenant_id))
        .filter(credit_notes::idempotency_key.eq(key))
        .select(CreditNoteRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Takes the tenant's next credit note number. The counter row stays
/// locked until the transaction ends, so numbers are handed out in commit
/// order and a rolled-back credit note leaves no gap.
pub async fn take_credit_note_number(conn: &mut AsyncPgConnection, tenant_id: Uuid) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Number {
        #[diesel(sql_type = BigInt)]
        last_number: i64,
    }
    let row: Number = diesel::sql_query(
        "INSERT INTO credit_note_counters (tenant_id, last_number) VALUES ($1, 1)
         ON CONFLICT (tenant_id) DO UPDATE SET last_number = credit_note_counters.last_number + 1
         RETURNING last_number",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .get_result(conn)
    .await?;
    Ok(row.last_number)
}

#[derive(QueryableByName)]
struct LineCredited {
    #[diesel(sql_type = SqlUuid)]
    line_item_id: Uuid,
    #[diesel(sql_type = Numeric)]
    credited: Decimal,
}

/// What credit notes have credited so far on each of the lines (lines
/// never credited are left out).
pub async fn credited_per_line(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    line_ids: &[Uuid],
) -> QueryResult<Vec<(Uuid, Decimal)>> {
    let rows: Vec<LineCredited> = diesel::sql_query(
        "SELECT l.line_item_id, sum(l.amount) AS credited FROM credit_note_lines l
         WHERE l.tenant_id = $1 AND l.line_item_id = ANY($2)
         GROUP BY l.line_item_id",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<SqlUuid>, _>(line_ids)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.line_item_id, r.credited)).collect())
}

pub async fn credit_notes_by_ids(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> QueryResult<Vec<CreditNoteRow>> {
    credit_notes::table
        .filter(credit_notes::tenant_id.eq(tenant_id))
        .filter(credit_notes::id.eq_any(ids))
        .select(CreditNoteRow::as_select())
        .load(conn)
        .await
}

/// The credit notes of many invoices, oldest first.
pub async fn credit_notes_of_invoices(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    invoice_ids: &[Uuid],
) -> QueryResult<Vec<CreditNoteRow>> {
    static SQL: LazyLock<String> =
        LazyLock::new(|| rows_of_keys_sql::<CreditNoteRow>("credit_notes", "invoice_id", "r.invoice_id, r.id"));
    load_rows_of_keys(conn, &SQL, tenant_id, invoice_ids).await
}

/// The lines of many credit notes.
pub async fn lines_of_credit_notes(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    credit_note_ids: &[Uuid],
) -> QueryResult<Vec<CreditNoteLineRow>> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        rows_of_keys_sql::<CreditNoteLineRow>(
            "credit_note_lines",
            "credit_note_id",
            "r.credit_note_id, r.line_item_id",
        )
    });
    load_rows_of_keys(conn, &SQL, tenant_id, credit_note_ids).await
}

/// The refunds of many credit notes, oldest first.
pub async fn refunds_of_credit_notes(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    credit_note_ids: &[Uuid],
) -> QueryResult<Vec<RefundRow>> {
    static SQL: LazyLock<String> =
        LazyLock::new(|| rows_of_keys_sql::<RefundRow>("refunds", "credit_note_id", "r.credit_note_id, r.id"));
    load_rows_of_keys(conn, &SQL, tenant_id, credit_note_ids).await
}

/// One requested page of a customer's credit notes, newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CreditNotePageKey {
    pub customer_id: Uuid,
    /// The page starts below this credit note (the previous page's last).
    pub after: Option<Uuid>,
    pub limit: i64,
}

/// A row answering the `idx`-th requested key (1-based).
#[derive(QueryableByName)]
pub struct IndexedCreditNote {
    #[diesel(sql_type = BigInt)]
    pub idx: i64,
    #[diesel(embed)]
    pub credit_note: CreditNoteRow,
}

/// Pages of credit notes, newest first, for many customers at once: one
/// index range per key, read backwards from its cursor.
pub async fn credit_note_pages(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    keys: &[CreditNotePageKey],
) -> QueryResult<Vec<IndexedCreditNote>> {
    static SQL: LazyLock<String> =
        LazyLock::new(|| parent_pages_sql::<CreditNoteRow>("credit_notes", "customer_id", PageOrder::Descending));
    let pages = keys.iter().map(|k| ParentPage {
        parent: k.customer_id,
        after: k.after,
        limit: k.limit,
    });
    load_parent_pages(conn, &SQL, tenant_id, pages).await
}

#[derive(QueryableByName)]
struct CustomerCount {
    #[diesel(sql_type = SqlUuid)]
    customer_id: Uuid,
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// How many credit notes each customer has: one count per customer over
/// its index range.
pub async fn credit_note_counts(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    customer_ids: &[Uuid],
) -> QueryResult<Vec<(Uuid, i64)>> {
    let rows: Vec<CustomerCount> = diesel::sql_query(
        "SELECT k.customer_id, n.count FROM unnest($2::uuid[]) AS k(customer_id)
         CROSS JOIN LATERAL (
             SELECT count(*) AS count FROM credit_notes n
             WHERE n.tenant_id = $1 AND n.customer_id = k.customer_id
         ) n",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<SqlUuid>, _>(customer_ids)
    .prepared()
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.customer_id, r.count)).collect())
}
