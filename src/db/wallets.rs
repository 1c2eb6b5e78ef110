//! The wallets, wallet_lots and wallet_transactions tables.
//!
//! Every function that writes expects the wallet row to be locked by the
//! caller's transaction (`for_update`), which serializes all changes to one
//! wallet's lots, ledger and cached balance.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use diesel::dsl::sql;
use diesel::expression::SqlLiteral;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Numeric, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::prepared::{
    PageOrder, ParentPage, PreparedExt, load_parent_pages, load_rows_of_keys, parent_pages_sql, rows_of_keys_sql,
};
use crate::db::schema::{wallet_lots, wallet_transactions, wallets};
use crate::domain::money::Currency;
use crate::domain::wallet::{LotKind, TransactionKind, TransactionReason, WalletStatus};

/// The unique index that makes an idempotency key usable once per wallet.
pub const IDEMPOTENCY_INDEX: &str = "wallet_transactions_idempotency";

/// Rows per INSERT: 12 parameters each, far below the 65,535 a statement takes.
const INSERT_CHUNK: usize = 1000;

/// The predicates of the partial indexes, as literals: with a bound
/// parameter a generic plan could not prove that the index applies.
fn lot_has_credits() -> SqlLiteral<Bool> {
    sql("wallet_lots.remaining > 0")
}

fn is_invoice_payment() -> SqlLiteral<Bool> {
    sql("wallet_transactions.reason = 'INVOICE_PAYMENT'")
}

fn is_void_refund() -> SqlLiteral<Bool> {
    sql("wallet_transactions.reason = 'VOID_REFUND'")
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = wallets, check_for_backend(Pg))]
pub struct WalletRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub customer_id: Uuid,
    pub currency: Currency,
    pub name: String,
    pub conversion_rate: Decimal,
    pub status: WalletStatus,
    pub credit_balance: Decimal,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// wallet.low_balance is emitted when a debit takes the credit balance below it.
    pub low_balance_threshold: Option<Decimal>,
}

impl WalletRow {
    pub fn is_active(&self) -> bool {
        self.status == WalletStatus::Active
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = wallet_lots, check_for_backend(Pg))]
pub struct LotRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub wallet_id: Uuid,
    pub kind: LotKind,
    pub credits: Decimal,
    pub remaining: Decimal,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = wallet_transactions, check_for_backend(Pg))]
pub struct TransactionRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub wallet_id: Uuid,
    pub kind: TransactionKind,
    pub credits: Decimal,
    pub amount: Decimal,
    pub balance_after: Decimal,
    pub reason: TransactionReason,
    pub reference: Option<String>,
    /// `[{"lot": id, "credits": "..."}]`, see [`LotTake`].
    pub lots: serde_json::Value,
    pub idempotency_key: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// One element of a ledger entry's `lots`: credits that entry moved out of
/// (or back into) one lot. Credits are a decimal string, never a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LotTake {
    pub lot: Uuid,
    pub credits: Decimal,
}

/// The `lots` column for `(lot id, credits)` pairs.
pub fn lots_json(takes: &[(Uuid, Decimal)]) -> serde_json::Value {
    let takes: Vec<LotTake> = takes.iter().map(|&(lot, credits)| LotTake { lot, credits }).collect();
    serde_json::to_value(takes).unwrap_or_default()
}

/// The `(lot id, credits)` pairs stored in a `lots` column.
pub fn lot_takes(lots: &serde_json::Value) -> Result<Vec<(Uuid, Decimal)>, serde_json::Error> {
    let takes: Vec<LotTake> = serde_json::from_value(lots.clone())?;
    Ok(takes.into_iter().map(|t| (t.lot, t.credits)).collect())
}

pub async fn insert_wallet(conn: &mut AsyncPgConnection, row: &WalletRow) -> QueryResult<WalletRow> {
    diesel::insert_into(wallets::table)
        .values(row)
        .returning(WalletRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn wallets_by_ids(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> QueryResult<Vec<WalletRow>> {
    wallets::table
        .filter(wallets::tenant_id.eq(tenant_id))
        .filter(wallets::id.eq_any(ids))
        .select(WalletRow::as_select())
        .load(conn)
        .await
}

/// Every wallet of many customers, by customer, then in creation order.
pub async fn wallets_of_customers(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    customer_ids: &[Uuid],
) -> QueryResult<Vec<WalletRow>> {
    static SQL: LazyLock<String> =
        LazyLock::new(|| rows_of_keys_sql::<WalletRow>("wallets", "customer_id", "r.customer_id, r.id"));
    load_rows_of_keys(conn, &SQL, tenant_id, customer_ids).await
}

/// Locks the wallet for the rest of the transaction.
pub async fn wallet_for_update(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<WalletRow>> {
    wallets::table
        .filter(wallets::tenant_id.eq(tenant_id))
        .filter(wallets::id.eq(id))
        .select(WalletRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// Locks the wallet unless another transaction holds it (then None).
pub async fn wallet_for_update_unless_locked(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<WalletRow>> {
    wallets::table
        .filter(wallets::tenant_id.eq(tenant_id))
        .filter(wallets::id.eq(id))
        .select(WalletRow::as_select())
        .for_update()
        .skip_locked()
        .first(conn)
        .await
        .optional()
}

/// Locks many wallets, in id order so that two transactions locking
/// overlapping sets cannot deadlock.
pub async fn wallets_for_update(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> QueryResult<Vec<WalletRow>> {
    wallets::table
        .filter(wallets::tenant_id.eq(tenant_id))
        .filter(wallets::id.eq_any(ids))
        .order(wallets::id)
        .select(WalletRow::as_select())
        .for_update()
        .load(conn)
        .await
}

/// Locks the customer's ACTIVE wallets in `currency`, in id order.
pub async fn active_wallets_for_update(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    customer_id: Uuid,
    currency: Currency,
) -> QueryResult<Vec<WalletRow>> {
    wallets::table
        .filter(wallets::tenant_id.eq(tenant_id))
        .filter(wallets::customer_id.eq(customer_id))
        .filter(wallets::currency.eq(currency))
        .filter(wallets::status.eq(WalletStatus::Active))
        .order(wallets::id)
        .select(WalletRow::as_select())
        .for_update()
        .load(conn)
        .await
}

/// Which of the customers hold an active wallet, and in which currencies.
pub async fn active_wallet_holders(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    customer_ids: &[Uuid],
) -> QueryResult<Vec<(Uuid, Currency)>> {
    wallets::table
        .filter(wallets::tenant_id.eq(tenant_id))
        .filter(wallets::customer_id.eq_any(customer_ids))
        .filter(wallets::status.eq(WalletStatus::Active))
        .select((wallets::customer_id, wallets::currency))
        .distinct()
        .load(conn)
        .await
}

/// Marks a locked wallet closed, as of `now`.
/// Sets (or clears, with None) the wallet's low-balance threshold.
pub async fn set_low_balance_threshold(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    id: Uuid,
    threshold: Option<Decimal>,
    now: DateTime<Utc>,
) -> QueryResult<Option<WalletRow>> {
    diesel::update(
        wallets::table
            .filter(wallets::tenant_id.eq(tenant_id))
            .filter(wallets::id.eq(id)),
    )
    .set((
        wallets::low_balance_threshold.eq(threshold),
        wallets::updated_at.eq(now),
    ))
    .returning(WalletRow::as_returning())
    .get_result(conn)
    .await
    .optional()
}

pub async fn close_wallet(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<WalletRow> {
    diesel::update(
        wallets::table
            .filter(wallets::tenant_id.eq(tenant_id))
            .filter(wallets::id.eq(id)),
    )
    .set((
        wallets::status.eq(WalletStatus::Closed),
        wallets::closed_at.eq(now),
        wallets::updated_at.eq(now),
    ))
    .returning(WalletRow::as_returning())
    .get_result(conn)
    .await
}

/// Stores the balance the ledger of a locked wallet adds up to.
pub async fn set_balance(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    id: Uuid,
    credit_balance: Decimal,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(
        wallets::table
            .filter(wallets::tenant_id.eq(tenant_id))
            .filter(wallets::id.eq(id)),
    )
    .set((wallets::credit_balance.eq(credit_balance), wallets::updated_at.eq(now)))
    .execute(conn)
    .await
    .map(drop)
}

pub async fn insert_lot(conn: &mut AsyncPgConnection, row: &LotRow) -> QueryResult<()> {
    diesel::insert_into(wallet_lots::table)
        .values(row)
        .execute(conn)
        .await
        .map(drop)
}

/// A wallet's lots that still hold credits, in creation order.
pub async fn lots_with_credits(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    wallet_id: Uuid,
) -> QueryResult<Vec<LotRow>> {
    wallet_lots::table
        .filter(wallet_lots::tenant_id.eq(tenant_id))
        .filter(wallet_lots::wallet_id.eq(wallet_id))
        .filter(lot_has_credits())
        .order(wallet_lots::id)
        .select(LotRow::as_select())
        .load(conn)
        .await
}

/// Adds a signed amount of credits to each lot of one wallet, in one
/// statement; returns how many lots it changed. Each lot must appear once.
pub async fn add_to_lots(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    wallet_id: Uuid,
    changes: &[(Uuid, Decimal)],
) -> QueryResult<usize> {
    let ids: Vec<Uuid> = changes.iter().map(|c| c.0).collect();
    let deltas: Vec<Decimal> = changes.iter().map(|c| c.1).collect();
    diesel::sql_query(
        "UPDATE wallet_lots l SET remaining = l.remaining + d.delta
         FROM unnest($3::uuid[], $4::numeric[]) AS d(id, delta)
         WHERE l.tenant_id = $1 AND l.wallet_id = $2 AND l.id = d.id",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(wallet_id)
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Array<Numeric>, _>(deltas)
    .execute(conn)
    .await
}

/// Appends ledger entries, returning them as stored.
pub async fn insert_transactions(
    conn: &mut AsyncPgConnection,
    rows: &[TransactionRow],
) -> QueryResult<Vec<TransactionRow>> {
    let mut stored = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(INSERT_CHUNK) {
        let inserted: Vec<TransactionRow> = diesel::insert_into(wallet_transactions::table)
            .values(chunk)
            .returning(TransactionRow::as_returning())
            .get_results(conn)
            .await?;
        stored.extend(inserted);
    }
    // RETURNING promises no order; the ledger's order is the id order.
    stored.sort_by_key(|r| r.id);
    Ok(stored)
}

/// The entry an idempotency key already produced on a wallet.
pub async fn transaction_by_idempotency_key(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    wallet_id: Uuid,
    key: &str,
) -> QueryResult<Option<TransactionRow>> {
    wallet_transactions::table
        .filter(wallet_transactions::tenant_id.eq(tenant_id))
        .filter(wallet_transactions::wallet_id.eq(wallet_id))
        .filter(wallet_transactions::idempotency_key.eq(key))
        .select(TransactionRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Every INVOICE_PAYMENT entry referencing `reference`, in ledger order.
pub async fn invoice_payments(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    reference: &str,
) -> QueryResult<Vec<TransactionRow>> {
    wallet_transactions::table
        .filter(wallet_transactions::tenant_id.eq(tenant_id))
        .filter(is_invoice_payment())
        .filter(wallet_transactions::reference.eq(reference))
        .order(wallet_transactions::id)
        .select(TransactionRow::as_select())
        .load(conn)
        .await
}

/// Which of `wallet_ids` already hold a VOID_REFUND entry for `reference`.
pub async fn wallets_refunded(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    reference: &str,
    wallet_ids: &[Uuid],
) -> QueryResult<Vec<Uuid>> {
    wallet_transactions::table
        .filter(wallet_transactions::tenant_id.eq(tenant_id))
        .filter(wallet_transactions::wallet_id.eq_any(wallet_ids))
        .filter(is_void_refund())
        .filter(wallet_transactions::reference.eq(reference))
        .select(wallet_transactions::wallet_id)
        .distinct()
        .load(conn)
        .await
}

/// A wallet whose lots hold credits that have expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Queryable)]
pub struct DueWallet {
    pub tenant_id: Uuid,
    pub wallet_id: Uuid,
}

/// Up to `limit` wallets, across tenants, with lots expired at `now` that
/// still hold credits; ordered, and after `after` when given, so a caller
/// can walk them all in batches.
pub async fn wallets_with_expired_lots(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    after: Option<DueWallet>,
    limit: i64,
) -> QueryResult<Vec<DueWallet>> {
    let mut query = wallet_lots::table
        .filter(lot_has_credits())
        .filter(wallet_lots::expires_at.le(now))
        .select((wallet_lots::tenant_id, wallet_lots::wallet_id))
        .distinct()
        .order((wallet_lots::tenant_id, wallet_lots::wallet_id))
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(
            wallet_lots::tenant_id.gt(after.tenant_id).or(wallet_lots::tenant_id
                .eq(after.tenant_id)
                .and(wallet_lots::wallet_id.gt(after.wallet_id))),
        );
    }
    query.load(conn).await
}

/// One requested page of a wallet's ledger, newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TransactionPageKey {
    pub wallet_id: Uuid,
    /// The page starts below this entry (the previous page's last).
    pub after: Option<Uuid>,
    pub limit: i64,
}

/// A row answering the `idx`-th requested key (1-based).
#[derive(QueryableByName)]
pub struct IndexedTransaction {
    #[diesel(sql_type = BigInt)]
    pub idx: i64,
    #[diesel(embed)]
    pub transaction: TransactionRow,
}

/// Pages of ledger entries, newest first, for many wallets at once.
pub async fn transaction_pages(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    keys: &[TransactionPageKey],
) -> QueryResult<Vec<IndexedTransaction>> {
    static SQL: LazyLock<String> =
        LazyLock::new(|| parent_pages_sql::<TransactionRow>("wallet_transactions", "wallet_id", PageOrder::Descending));
    let pages = keys.iter().map(|k| ParentPage {
        parent: k.wallet_id,
        after: k.after,
        limit: k.limit,
    });
    load_parent_pages(conn, &SQL, tenant_id, pages).await
}

#[derive(QueryableByName)]
struct WalletCount {
    #[diesel(sql_type = SqlUuid)]
    wallet_id: Uuid,
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// How many ledger entries each wallet has: one count per wallet over its
/// index range, so no plan scans the tenant's whole ledger.
pub async fn transaction_counts(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    wallet_ids: &[Uuid],
) -> QueryResult<Vec<(Uuid, i64)>> {
    let rows: Vec<WalletCount> = diesel::sql_query(
        "SELECT k.wallet_id, n.count FROM unnest($2::uuid[]) AS k(wallet_id)
         CROSS JOIN LATERAL (
             SELECT count(*) AS count FROM wallet_transactions t
             WHERE t.tenant_id = $1 AND t.wallet_id = k.wallet_id
         ) n",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<SqlUuid>, _>(wallet_ids)
    .prepared()
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.wallet_id, r.count)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lots_are_stored_with_decimal_strings_and_read_back() {
        let lot = Uuid::from_u128(7);
        let takes = vec![(lot, "12.500001".parse().unwrap())];
        let json = lots_json(&takes);
        assert_eq!(
            json,
            serde_json::json!([{ "lot": "00000000-0000-0000-0000-000000000007", "credits": "12.500001" }])
        );
        assert_eq!(lot_takes(&json).unwrap(), takes);
        assert!(lot_takes(&serde_json::json!([{ "lot": "x", "credits": "1" }])).is_err());
    }
}
