//! The customer_credit_balances and customer_credit_entries tables.
//!
//! Every function that writes expects the balance row to be locked by the
//! caller's transaction (`balances_for_update` or `lock_balance`), which
//! serialises all changes to one customer's balance in one currency.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Numeric, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::db::prepared::{load_rows_of_keys, rows_of_keys_sql};
use crate::db::schema::{customer_credit_balances, customer_credit_entries};
use crate::domain::credit_balance::CreditBalanceReason;
use crate::domain::money::Currency;

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = customer_credit_balances, check_for_backend(Pg))]
pub struct CreditBalanceRow {
    pub tenant_id: Uuid,
    pub customer_id: Uuid,
    pub currency: Currency,
    pub balance: Decimal,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = customer_credit_entries, check_for_backend(Pg))]
pub struct CreditEntryRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub customer_id: Uuid,
    pub currency: Currency,
    /// Signed: what the entry adds to the balance.
    pub amount: Decimal,
    pub balance_after: Decimal,
    pub reason: CreditBalanceReason,
    pub invoice_id: Uuid,
    pub credit_note_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// Locks the existing balances of the customers, in key order so that two
/// transactions locking overlapping sets cannot deadlock.
pub async fn balances_for_update(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    customer_ids: &[Uuid],
) -> QueryResult<Vec<CreditBalanceRow>> {
    customer_credit_balances::table
        .filter(customer_credit_balances::tenant_id.eq(tenant_id))
        .filter(customer_credit_balances::customer_id.eq_any(customer_ids))
        .order((
            customer_credit_balances::customer_id,
            customer_credit_balances::currency,
        ))
        .select(CreditBalanceRow::as_select())
        .for_update()
        .load(conn)
        .await
}

#[derive(QueryableByName)]
struct Balance {
    #[diesel(sql_type = Numeric)]
    balance: Decimal,
}

/// Locks one balance, creating it (at 0) when the customer has none in
/// the currency yet; returns what it holds.
pub async fn lock_balance(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    customer_id: Uuid,
    currency: Currency,
    now: DateTime<Utc>,
) -> QueryResult<Decimal> {
    let row: Balance = diesel::sql_query(
        "INSERT INTO customer_credit_balances (tenant_id, customer_id, currency, balance, updated_at)
         VALUES ($1, $2, $3, 0, $4)
         -- A no-op update, so an existing row is locked like a new one.
         ON CONFLICT (tenant_id, customer_id, currency)
             DO UPDATE SET updated_at = customer_credit_balances.updated_at
         RETURNING balance",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(customer_id)
    .bind::<Text, _>(currency)
    .bind::<Timestamptz, _>(now)
    .get_result(conn)
    .await?;
    Ok(row.balance)
}

/// Adds an amount to a balance (created when missing) and returns the
/// balance after it.
pub async fn add_to_balance(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    customer_id: Uuid,
    currency: Currency,
    amount: Decimal,
    now: DateTime<Utc>,
) -> QueryResult<Decimal> {
    let row: Balance = diesel::sql_query(
        "INSERT INTO customer_credit_balances (tenant_id, customer_id, currency, balance, updated_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tenant_id, customer_id, currency)
             DO UPDATE SET balance = customer_credit_balances.balance + EXCLUDED.balance, updated_at = EXCLUDED.updated_at
         RETURNING balance",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(customer_id)
    .bind::<Text, _>(currency)
    .bind::<Numeric, _>(amount)
    .bind::<Timestamptz, _>(now)
    .get_result(conn)
    .await?;
    Ok(row.balance)
}

/// Takes an amount from an existing balance and returns the balance after
/// it; a balance can never go below zero (CHECK). An upsert cannot do it:
/// PostgreSQL checks the row it would insert, negative, before it finds
/// the conflict.
pub async fn take_from_balance(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    customer_id: Uuid,
    currency: Currency,
    amount: Decimal,
    now: DateTime<Utc>,
) -> QueryResult<Decimal> {
    let row: Balance = diesel::sql_query(
        "UPDATE customer_credit_balances SET balance = balance - $4, updated_at = $5
         WHERE tenant_id = $1 AND customer_id = $2 AND currency = $3
         RETURNING balance",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(customer_id)
    .bind::<Text, _>(currency)
    .bind::<Numeric, _>(amount)
    .bind::<Timestamptz, _>(now)
    .get_result(conn)
    .await?;
    Ok(row.balance)
}

pub async fn insert_entry(conn: &mut AsyncPgConnection, row: &CreditEntryRow) -> QueryResult<()> {
    diesel::insert_into(customer_credit_entries::table)
        .values(row)
        .execute(conn)
        .await
        .map(drop)
}

/// Every balance of many customers, by customer, then by currency code.
pub async fn balances_of_customers(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    customer_ids: &[Uuid],
) -> QueryResult<Vec<CreditBalanceRow>> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        rows_of_keys_sql::<CreditBalanceRow>("customer_credit_balances", "customer_id", "r.customer_id, r.currency")
    });
    load_rows_of_keys(conn, &SQL, tenant_id, customer_ids).await
}
