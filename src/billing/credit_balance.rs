//! Customer credit balances: each change is one ledger entry and the new
//! cached balance, written in the caller's transaction under the balance
//! row's lock, so `balance` always equals the sum of the entries.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::db::credit_balances::{self as rows, CreditEntryRow};
use crate::db::errors::unique_violation;
use crate::domain::credit_balance::CreditBalanceReason;
use crate::domain::money::Currency;
use crate::error::{AppError, AppResult};

/// One change to a balance, before it is written.
#[derive(Debug, Clone, Copy)]
pub struct Movement {
    pub customer_id: Uuid,
    pub currency: Currency,
    /// Positive; the reason says which way it moves.
    pub amount: Decimal,
    pub reason: CreditBalanceReason,
    /// The invoice the change is about.
    pub invoice_id: Uuid,
    /// The credit note, for reason CREDIT_NOTE.
    pub credit_note_id: Option<Uuid>,
}

/// Writes a movement on a balance the transaction has locked (or creates
/// it); returns the balance after it. A source that already moved the
/// balance for the same reason is refused: the unique indexes on the
/// ledger are the backstop behind the callers' own state checks.
pub async fn record(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    movement: Movement,
    now: DateTime<Utc>,
) -> AppResult<Decimal> {
    let (customer, currency, amount) = (movement.customer_id, movement.currency, movement.amount);
    let (signed, balance_after) = if movement.reason.adds() {
        let after = rows::add_to_balance(conn, tenant_id, customer, currency, amount, now).await?;
        (amount, after)
    } else {
        let after = rows::take_from_balance(conn, tenant_id, customer, currency, amount, now).await?;
        (-amount, after)
    };
    let entry = CreditEntryRow {
        tenant_id,
        id: Uuid::now_v7(),
        customer_id: movement.customer_id,
        currency: movement.currency,
        amount: signed,
        balance_after,
        reason: movement.reason,
        invoice_id: movement.invoice_id,
        credit_note_id: movement.credit_note_id,
        created_at: now,
    };
    rows::insert_entry(conn, &entry)
        .await
        .map_err(|e| match unique_violation(&e) {
            Some(_) => AppError::conflict(format!(
                "the credit balance was already moved for this {} ({})",
                if movement.credit_note_id.is_some() {
                    "credit note"
                } else {
                    "invoice"
                },
                movement.reason
            )),
            None => AppError::from(e),
        })?;
    Ok(balance_after)
}

/// Locks one customer's balance in one currency (creating it at 0) and
/// returns what it holds.
pub async fn lock(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    customer_id: Uuid,
    currency: Currency,
    now: DateTime<Utc>,
) -> AppResult<Decimal> {
    Ok(rows::lock_balance(conn, tenant_id, customer_id, currency, now).await?)
}

/// The balances of many customers, locked for the rest of the transaction
/// and kept up to date as finalization spends and grows them.
#[derive(Debug, Default)]
pub struct LockedBalances {
    held: HashMap<(Uuid, Uuid, Currency), Decimal>,
}

impl LockedBalances {
    /// Locks the existing balances of a tenant's customers, in key order.
    pub async fn lock(
        &mut self,
        conn: &mut AsyncPgConnection,
        tenant_id: Uuid,
        customer_ids: &[Uuid],
    ) -> AppResult<()> {
        for row in rows::balances_for_update(conn, tenant_id, customer_ids).await? {
            self.held
                .insert((tenant_id, row.customer_id, row.currency), row.balance);
        }
        Ok(())
    }

    /// What a locked balance holds; 0 for a customer without one.
    pub fn available(&self, tenant_id: Uuid, customer_id: Uuid, currency: Currency) -> Decimal {
        self.held
            .get(&(tenant_id, customer_id, currency))
            .copied()
            .unwrap_or(Decimal::ZERO)
    }

    /// Writes a movement and remembers the balance after it.
    pub async fn record(
        &mut self,
        conn: &mut AsyncPgConnection,
        tenant_id: Uuid,
        movement: Movement,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        let after = record(conn, tenant_id, movement, now).await?;
        self.held
            .insert((tenant_id, movement.customer_id, movement.currency), after);
        Ok(())
    }
}
