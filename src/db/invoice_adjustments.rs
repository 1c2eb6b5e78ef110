//! An invoice's discounts and taxes: the invoice_discounts,
//! invoice_line_discounts, invoice_taxes and invoice_line_taxes tables, the
//! line columns that sum them, and credit_note_taxes.

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, Int4, Numeric, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::db::invoices::LineRow;
use crate::db::schema::{
    credit_note_taxes, invoice_discounts, invoice_line_discounts, invoice_line_taxes, invoice_taxes,
};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = invoice_discounts, check_for_backend(Pg))]
pub struct InvoiceDiscountRow {
    pub tenant_id: Uuid,
    pub invoice_id: Uuid,
    pub discount_id: Uuid,
    pub coupon_id: Uuid,
    pub position: i32,
    /// The coupon's name and code as they were.
    pub description: String,
    pub amount: Decimal,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = invoice_line_discounts, check_for_backend(Pg))]
pub struct LineDiscountRow {
    pub tenant_id: Uuid,
    pub invoice_id: Uuid,
    pub line_item_id: Uuid,
    pub discount_id: Uuid,
    pub amount: Decimal,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = invoice_taxes, check_for_backend(Pg))]
pub struct InvoiceTaxRow {
    pub tenant_id: Uuid,
    pub invoice_id: Uuid,
    pub tax_rate_id: Uuid,
    pub position: i32,
    /// The rate as it was when the invoice was computed.
    pub name: String,
    pub percentage: Decimal,
    pub inclusive: bool,
    pub taxable_amount: Decimal,
    pub amount: Decimal,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = invoice_line_taxes, check_for_backend(Pg))]
pub struct LineTaxRow {
    pub tenant_id: Uuid,
    pub invoice_id: Uuid,
    pub line_item_id: Uuid,
    pub tax_rate_id: Uuid,
    pub amount: Decimal,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = credit_note_taxes, check_for_backend(Pg))]
pub struct CreditNoteTaxRow {
    pub tenant_id: Uuid,
    pub credit_note_id: Uuid,
    pub tax_rate_id: Uuid,
    pub name: String,
    pub percentage: Decimal,
    pub inclusive: bool,
    pub amount: Decimal,
}

/// Everything one computation of discounts and taxes writes.
#[derive(Debug, Clone, Default)]
pub struct AdjustmentRows {
    pub discounts: Vec<InvoiceDiscountRow>,
    pub line_discounts: Vec<LineDiscountRow>,
    pub taxes: Vec<InvoiceTaxRow>,
    pub line_taxes: Vec<LineTaxRow>,
}

impl AdjustmentRows {
    pub fn extend(&mut self, other: AdjustmentRows) {
        self.discounts.extend(other.discounts);
        self.line_discounts.extend(other.line_discounts);
        self.taxes.extend(other.taxes);
        self.line_taxes.extend(other.line_taxes);
    }
}

/// Replaces the discounts and taxes of these invoices with `rows`, and
/// writes the sums of `lines` (those whose sums changed). The invoices are
/// locked by the caller.
pub async fn replace(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    invoice_ids: &[Uuid],
    rows: &AdjustmentRows,
    lines: &[LineRow],
) -> QueryResult<()> {
    if invoice_ids.is_empty() {
        return Ok(());
    }
    // One statement for the four tables: foreign keys are checked at its
    // end, when the rows of all four are gone.
    diesel::sql_query(
        "WITH line_discounts AS (
             DELETE FROM invoice_line_discounts WHERE tenant_id = $1 AND invoice_id = ANY($2)
         ), line_taxes AS (
             DELETE FROM invoice_line_taxes WHERE tenant_id = $1 AND invoice_id = ANY($2)
         ), discounts AS (
             DELETE FROM invoice_discounts WHERE tenant_id = $1 AND invoice_id = ANY($2)
         )
         DELETE FROM invoice_taxes WHERE tenant_id = $1 AND invoice_id = ANY($2)",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<SqlUuid>, _>(invoice_ids)
    .execute(conn)
    .await?;
    insert(conn, rows).await?;
    update_line_sums(conn, lines).await
}

/// Inserts new invoices' discounts and taxes (their lines already stored).
pub async fn insert(conn: &mut AsyncPgConnection, rows: &AdjustmentRows) -> QueryResult<()> {
    // Chunks keep each statement under the bind-parameter limit.
    for chunk in rows.discounts.chunks(5000) {
        diesel::insert_into(invoice_discounts::table)
            .values(chunk)
            .execute(conn)
            .await?;
    }
    for chunk in rows.taxes.chunks(5000) {
        diesel::insert_into(invoice_taxes::table)
            .values(chunk)
            .execute(conn)
            .await?;
    }
    for chunk in rows.line_discounts.chunks(10000) {
        diesel::insert_into(invoice_line_discounts::table)
            .values(chunk)
            .execute(conn)
            .await?;
    }
    for chunk in rows.line_taxes.chunks(10000) {
        diesel::insert_into(invoice_line_taxes::table)
            .values(chunk)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Writes the lines' discount and tax sums, in one statement.
async fn update_line_sums(conn: &mut AsyncPgConnection, lines: &[LineRow]) -> QueryResult<()> {
    if lines.is_empty() {
        return Ok(());
    }
    let column = |f: fn(&LineRow) -> Decimal| lines.iter().map(f).collect::<Vec<Decimal>>();
    diesel::sql_query(
        "UPDATE invoice_line_items l
         SET discount_amount = u.discount_amount, tax_amount = u.tax_amount, tax_added = u.tax_added
         FROM unnest($1::uuid[], $2::uuid[], $3::int4[], $4::numeric[], $5::numeric[], $6::numeric[])
             AS u(tenant_id, invoice_id, position, discount_amount, tax_amount, tax_added)
         WHERE l.tenant_id = u.tenant_id AND l.invoice_id = u.invoice_id AND l.position = u.position",
    )
    .bind::<Array<SqlUuid>, _>(lines.iter().map(|l| l.tenant_id).collect::<Vec<_>>())
    .bind::<Array<SqlUuid>, _>(lines.iter().map(|l| l.invoice_id).collect::<Vec<_>>())
    .bind::<Array<Int4>, _>(lines.iter().map(|l| l.position).collect::<Vec<_>>())
    .bind::<Array<Numeric>, _>(column(|l| l.discount_amount))
    .bind::<Array<Numeric>, _>(column(|l| l.tax_amount))
    .bind::<Array<Numeric>, _>(column(|l| l.tax_added))
    .execute(conn)
    .await
    .map(drop)
}

/// Counts one more billed period on each of these discounts (a discount
/// appears once per invoice it reduced).
pub async fn count_periods(conn: &mut AsyncPgConnection, tenant_id: Uuid, discount_ids: &[Uuid]) -> QueryResult<()> {
    if discount_ids.is_empty() {
        return Ok(());
    }
    diesel::sql_query(
        "UPDATE discounts d SET periods_applied = d.periods_applied + u.n
         FROM (SELECT id, count(*)::int4 AS n FROM unnest($2::uuid[]) AS x(id) GROUP BY id) u
         WHERE d.tenant_id = $1 AND d.id = u.id",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<SqlUuid>, _>(discount_ids)
    .execute(conn)
    .await
    .map(drop)
}

/// The discounts of these invoices, in their order.
pub async fn discounts_of(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    invoice_ids: &[Uuid],
) -> QueryResult<Vec<InvoiceDiscountRow>> {
    invoice_discounts::table
        .filter(invoice_discounts::tenant_id.eq(tenant_id))
        .filter(invoice_discounts::invoice_id.eq_any(invoice_ids))
        .order((invoice_discounts::invoice_id, invoice_discounts::position))
        .select(InvoiceDiscountRow::as_select())
        .load(conn)
        .await
}

/// What each discount took off each line of these invoices.
pub async fn line_discounts_of(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    invoice_ids: &[Uuid],
) -> QueryResult<Vec<LineDiscountRow>> {
    invoice_line_discounts::table
        .filter(invoice_line_discounts::tenant_id.eq(tenant_id))
        .filter(invoice_line_discounts::invoice_id.eq_any(invoice_ids))
        .select(LineDiscountRow::as_select())
        .load(conn)
        .await
}

/// The taxes of these invoices, per rate, in their order.
pub async fn taxes_of(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    invoice_ids: &[Uuid],
) -> QueryResult<Vec<InvoiceTaxRow>> {
    invoice_taxes::table
        .filter(invoice_taxes::tenant_id.eq(tenant_id))
        .filter(invoice_taxes::invoice_id.eq_any(invoice_ids))
        .order((invoice_taxes::invoice_id, invoice_taxes::position))
        .select(InvoiceTaxRow::as_select())
        .load(conn)
        .await
}

/// The tax of each line of these invoices, per rate.
pub async fn line_taxes_of(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    invoice_ids: &[Uuid],
) -> QueryResult<Vec<LineTaxRow>> {
    invoice_line_taxes::table
        .filter(invoice_line_taxes::tenant_id.eq(tenant_id))
        .filter(invoice_line_taxes::invoice_id.eq_any(invoice_ids))
        .select(LineTaxRow::as_select())
        .load(conn)
        .await
}

pub async fn insert_credit_note_taxes(conn: &mut AsyncPgConnection, rows: &[CreditNoteTaxRow]) -> QueryResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    diesel::insert_into(credit_note_taxes::table)
        .values(rows)
        .execute(conn)
        .await
        .map(drop)
}

/// The taxes these credit notes reversed.
pub async fn credit_note_taxes_of(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    credit_note_ids: &[Uuid],
) -> QueryResult<Vec<CreditNoteTaxRow>> {
    credit_note_taxes::table
        .filter(credit_note_taxes::tenant_id.eq(tenant_id))
        .filter(credit_note_taxes::credit_note_id.eq_any(credit_note_ids))
        .order((credit_note_taxes::credit_note_id, credit_note_taxes::name))
        .select(CreditNoteTaxRow::as_select())
        .load(conn)
        .await
}
