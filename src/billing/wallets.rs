//! Wallets: prepaid credits and their ledger.
//!
//! Every change to a wallet happens under its row lock, in one transaction
//! that writes the lots, the ledger entries and the cached balance together,
//! so `credit_balance` always equals both the ledger's credits minus its
//! debits and the lots' remaining credits. Each entry moves exactly the
//! credits it lists in `lots`: a CREDIT into those lots, a DEBIT out of them.
//!
//! Lots that have expired are expired (one EXPIRY entry each) under the same
//! lock before a wallet is topped up, debited or used to pay, so nothing
//! spends or reports credits that are already gone.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::customers::live_customer_for_update;
use crate::db::errors::unique_violation;
use crate::db::wallets::{self, DueWallet, IDEMPOTENCY_INDEX, LotRow, TransactionRow, WalletRow};
use crate::db::{DbPool, connection};
use crate::domain::money::{Currency, round_amount};
use crate::domain::outbox::{EventType, crossed_below};
pub use crate::domain::wallet::LotKind;
use crate::domain::wallet::{
    Lot, TransactionKind, TransactionReason, WalletStatus, amount_to_credits, check_top_up, credits_forfeited_on_close,
    credits_to_amount, expired_lots, invoice_payment, plan_debit,
};
use crate::error::{AppError, AppResult};
use crate::outbox::{self, views::WalletView};

/// Wallets the expiry worker reads per statement.
const EXPIRY_BATCH: i64 = 500;

/// A validated request to open a wallet.
#[derive(Debug, Clone)]
pub struct NewWallet {
    pub customer_id: Uuid,
    pub currency: Currency,
    pub name: String,
    pub conversion_rate: Decimal,
    pub low_balance_threshold: Option<Decimal>,
}

/// A validated top-up: `credits` and `expires_at` (in the future) already checked.
#[derive(Debug, Clone)]
pub struct TopUp {
    pub credits: Decimal,
    pub kind: LotKind,
    pub expires_at: Option<DateTime<Utc>>,
    pub idempotency_key: String,
}

/// A validated debit a client asks for (reason MANUAL).
#[derive(Debug, Clone)]
pub struct ManualDebit {
    pub credits: Decimal,
    pub reference: Option<String>,
    pub idempotency_key: String,
}

/// The wallet's currency; the column only ever holds codes `Currency::parse` accepted.
pub fn wallet_currency(wallet: &WalletRow) -> AppResult<Currency> {
    Ok(wallet.currency)
}

/// What the wallet's credits are worth in its currency, rounded for display.
pub fn balance_amount(wallet: &WalletRow) -> AppResult<Decimal> {
    credits_to_amount(wallet.credit_balance, wallet.conversion_rate, wallet_currency(wallet)?)
        .ok_or_else(|| out_of_range(wallet))
}

/// A wallet whose figures leave Decimal's range: top-ups are bounded, so
/// only data written around the rules gets here.
fn out_of_range(wallet: &WalletRow) -> AppError {
    AppError::internal(anyhow::anyhow!("wallet {} balance out of range", wallet.id))
}

/// Opens an empty wallet for an active customer of the tenant.
pub async fn create_wallet(pool: &DbPool, tenant_id: Uuid, new: NewWallet, now: DateTime<Utc>) -> AppResult<WalletRow> {
    let mut conn = connection(pool).await?;
    conn.transaction(async |conn| {
        // Locked, so the customer cannot be archived while its wallet is created.
        let customer = live_customer_for_update(conn, tenant_id, new.customer_id).await?;
        let row = WalletRow {
            tenant_id,
            id: Uuid::now_v7(),
            customer_id: customer.id,
            currency: new.currency,
            name: new.name.clone(),
            conversion_rate: new.conversion_rate,
            status: WalletStatus::Active,
            credit_balance: Decimal::ZERO,
            created_at: now,
            updated_at: now,
            closed_at: None,
            low_balance_threshold: new.low_balance_threshold,
        };
        Ok(wallets::insert_wallet(conn, &row).await?)
    })
    .await
}

/// Sets (or clears) the credit balance below which a debit emits
/// wallet.low_balance.
pub async fn set_low_balance_threshold(
    pool: &DbPool,
    tenant_id: Uuid,
    wallet_id: Uuid,
    threshold: Option<Decimal>,
    now: DateTime<Utc>,
) -> AppResult<WalletRow> {
    let mut conn = connection(pool).await?;
    wallets::set_low_balance_threshold(&mut conn, tenant_id, wallet_id, threshold, now)
        .await?
        .ok_or_else(|| AppError::not_found("wallet"))
}

/// Adds a lot of credits and returns its TOP_UP entry; the same idempotency
/// key on the same wallet returns the first entry again.
pub async fn top_up(
    pool: &DbPool,
    tenant_id: Uuid,
    wallet_id: Uuid,
    top_up: TopUp,
    now: DateTime<Utc>,
) -> AppResult<TransactionRow> {
    let mut conn = connection(pool).await?;
    conn.transaction(async |conn| {
        let wallet = locked_wallet(conn, tenant_id, wallet_id).await?;
        let request = Replay {
            reason: TransactionReason::TopUp,
            credits: top_up.credits,
            reference: None,
        };
        if let Some(first) = replayed(conn, &wallet, &top_up.idempotency_key, &request).await? {
            return Ok(first);
        }
        ensure_active(&wallet)?;
        let mut ledger = Ledger::open(wallet)?;
        let lots = live_lots(conn, &ledger.wallet).await?;
        ledger.expire(&lots, now)?;
        check_top_up(
            "input.credits",
            ledger.balance,
            top_up.credits,
            ledger.wallet.conversion_rate,
            ledger.currency,
        )?;
        let lot = open_lot(conn, &ledger, top_up.kind, top_up.credits, top_up.expires_at, now).await?;
        let entry = Entry {
            kind: TransactionKind::Credit,
            reason: TransactionReason::TopUp,
            credits: top_up.credits,
            amount: ledger.worth(top_up.credits)?,
            reference: None,
            lots: vec![(lot, top_up.credits)],
            idempotency_key: Some(top_up.idempotency_key.clone()),
        };
        ledger.append(entry, now)?;
        last_entry(ledger.save(conn, now).await?)
    })
    .await
}

/// Locks the wallet a credit note refunds to, inside the caller's
/// transaction, and checks that it can take the refund: an ACTIVE wallet
/// of `customer_id` (the invoice's payer) in `currency`. Anything else,
/// another tenant's wallet included, is a VALIDATION of `field`.
pub async fn lock_refund_wallet(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    wallet_id: Uuid,
    customer_id: Uuid,
    currency: Currency,
    field: &str,
) -> AppResult<WalletRow> {
    let wallet = wallets::wallet_for_update(conn, tenant_id, wallet_id).await?;
    match wallet {
        Some(w) if w.customer_id == customer_id && w.currency == currency && w.is_active() => Ok(w),
        _ => Err(AppError::validation(
            field,
            format!("must be an active wallet of the invoice's customer in {currency}"),
        )),
    }
}

/// Grants `amount` of money as credits to a wallet locked by
/// `lock_refund_wallet`, inside the caller's transaction: one new lot that
/// never expires (PURCHASED: the credits stand for money the customer
/// paid) and its CREDIT_NOTE_REFUND entry referencing the credit note.
/// Credits are the amount at the wallet's rate, rounded down like a
/// top-up. A refund the wallet cannot hold (worth less than its smallest
/// credit, or beyond its balance bounds) is a VALIDATION of `field`.
pub async fn refund_to_wallet(
    conn: &mut AsyncPgConnection,
    wallet: WalletRow,
    amount: Decimal,
    credit_note_id: Uuid,
    field: &str,
    now: DateTime<Utc>,
) -> AppResult<TransactionRow> {
    let mut ledger = Ledger::open(wallet)?;
    let lots = live_lots(conn, &ledger.wallet).await?;
    ledger.expire(&lots, now)?;
    let credits = amount_to_credits(amount, ledger.wallet.conversion_rate)
        .filter(|credits| *credits > Decimal::ZERO)
        .ok_or_else(|| AppError::validation(field, "the refund is worth less than one credit of this wallet"))?;
    check_top_up(
        field,
        ledger.balance,
        credits,
        ledger.wallet.conversion_rate,
        ledger.currency,
    )?;
    let lot = open_lot(conn, &ledger, LotKind::Purchased, credits, None, now).await?;
    let entry = Entry {
        kind: TransactionKind::Credit,
        reason: TransactionReason::CreditNoteRefund,
        credits,
        amount,
        reference: Some(credit_note_id.to_string()),
        lots: vec![(lot, credits)],
        idempotency_key: None,
    };
    ledger.append(entry, now)?;
    last_entry(ledger.save(conn, now).await?)
}

/// Inserts a new, empty lot in the ledger's wallet and returns its id; the
/// CREDIT entry naming it fills it like any other.
async fn open_lot(
    conn: &mut AsyncPgConnection,
    ledger: &Ledger,
    kind: LotKind,
    credits: Decimal,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> AppResult<Uuid> {
    let lot = LotRow {
        tenant_id: ledger.wallet.tenant_id,
        id: Uuid::now_v7(),
        wallet_id: ledger.wallet.id,
        kind,
        credits,
        remaining: Decimal::ZERO,
        expires_at,
        created_at: now,
    };
    wallets::insert_lot(conn, &lot).await?;
    Ok(lot.id)
}

/// Spends credits, soonest-expiring first, and returns the MANUAL entry;
/// all or nothing (INSUFFICIENT_FUNDS when the spendable credits fall
/// short). Idempotent like `top_up`.
pub async fn debit(
    pool: &DbPool,
    tenant_id: Uuid,
    wallet_id: Uuid,
    debit: ManualDebit,
    now: DateTime<Utc>,
) -> AppResult<TransactionRow> {
    let mut conn = connection(pool).await?;
    conn.transaction(async |conn| {
        let wallet = locked_wallet(conn, tenant_id, wallet_id).await?;
        let request = Replay {
            reason: TransactionReason::Manual,
            credits: debit.credits,
            reference: debit.reference.as_deref(),
        };
        if let Some(first) = replayed(conn, &wallet, &debit.idempotency_key, &request).await? {
            return Ok(first);
        }
        ensure_active(&wallet)?;
        let mut ledger = Ledger::open(wallet)?;
        let lots = live_lots(conn, &ledger.wallet).await?;
        ledger.expire(&lots, now)?;
        let takes = plan_debit(&lots, debit.credits, now).map_err(|short| {
            AppError::insufficient_funds(format!(
                "the wallet has {} spendable credits; {} were asked for",
                short.available, debit.credits
            ))
        })?;
        let entry = Entry {
            kind: TransactionKind::Debit,
            reason: TransactionReason::Manual,
            credits: debit.credits,
            amount: ledger.worth(debit.credits)?,
            reference: debit.reference.clone(),
            lots: takes,
            idempotency_key: Some(debit.idempotency_key.clone()),
        };
        ledger.append(entry, now)?;
        last_entry(ledger.save(conn, now).await?)
    })
    .await
}

/// Closes a wallet for good: from then on it takes no top-ups or debits
/// and pays no invoices. Its expired lots are expired first. Credits still
/// spendable are never lost by accident: without `forfeit` the close is
/// refused (CONFLICT, naming them); with it they are written off by one
/// WALLET_CLOSED entry, so the ledger shows what the customer gave up and
/// the wallet closes empty. Closing a closed wallet is a CONFLICT.
pub async fn close(
    pool: &DbPool,
    tenant_id: Uuid,
    wallet_id: Uuid,
    forfeit: bool,
    now: DateTime<Utc>,
) -> AppResult<WalletRow> {
    let mut conn = connection(pool).await?;
    conn.transaction(async |conn| {
        // Locked: a payment, top-up or debit either went first or sees it closed.
        let wallet = locked_wallet(conn, tenant_id, wallet_id).await?;
        if !wallet.is_active() {
            return Err(AppError::conflict("wallet is already closed"));
        }
        let mut ledger = Ledger::open(wallet)?;
        let lots = live_lots(conn, &ledger.wallet).await?;
        ledger.expire(&lots, now)?;
        let takes = credits_forfeited_on_close(&lots, now, forfeit).map_err(|left| {
            let worth = ledger
                .worth(left.credits)
                .map(|amount| format!(" (worth {amount} {})", ledger.currency))
                .unwrap_or_default();
            AppError::conflict(format!(
                "the wallet holds {} spendable credits{worth}; debit them first, or close it with \
                 forfeitCredits: true to write them off",
                left.credits
            ))
        })?;
        if !takes.is_empty() {
            let credits: Decimal = takes.iter().map(|(_, c)| *c).sum();
            let entry = Entry {
                kind: TransactionKind::Debit,
                reason: TransactionReason::WalletClosed,
                credits,
                amount: ledger.worth(credits)?,
                reference: None,
                lots: takes,
                idempotency_key: None,
            };
            ledger.append(entry, now)?;
        }
        if !ledger.balance.is_zero() {
            return Err(AppError::internal(anyhow::anyhow!(
                "wallet {wallet_id}: its lots and its balance disagree ({} left after closing)",
                ledger.balance
            )));
        }
        ledger.save(conn, now).await?;
        Ok(wallets::close_wallet(conn, tenant_id, wallet_id, now).await?)
    })
    .await
}

/// Expires every lot, in every tenant, that expired at `now` with credits
/// left: one EXPIRY entry per lot, each wallet in its own short transaction.
/// Wallets locked by another transaction are skipped (that one expires them
/// itself, or the next run does). Returns the number of entries written.
pub async fn expire_due_lots(pool: &DbPool, now: DateTime<Utc>) -> AppResult<u64> {
    let mut conn = connection(pool).await?;
    let mut written = 0;
    let mut after = None;
    loop {
        let due = wallets::wallets_with_expired_lots(&mut conn, now, after, EXPIRY_BATCH).await?;
        for wallet in &due {
            written += expire_wallet(&mut conn, *wallet, now).await?;
        }
        if (due.len() as i64) < EXPIRY_BATCH {
            return Ok(written);
        }
        after = due.last().copied();
    }
}

async fn expire_wallet(conn: &mut AsyncPgConnection, due: DueWallet, now: DateTime<Utc>) -> AppResult<u64> {
    conn.transaction(async |conn| {
        let Some(wallet) = wallets::wallet_for_update_unless_locked(conn, due.tenant_id, due.wallet_id).await? else {
            return Ok(0);
        };
        let mut ledger = Ledger::open(wallet)?;
        let lots = live_lots(conn, &ledger.wallet).await?;
        let expired = ledger.expire(&lots, now)?;
        ledger.save(conn, now).await?;
        Ok(expired as u64)
    })
    .await
}

/// Pays what it can of an invoice from the customer's ACTIVE wallets in the
/// invoice's currency, oldest wallet first, inside the caller's transaction
/// (which must hold the invoice's lock, so it runs once per invoice). Each
/// paying wallet writes one INVOICE_PAYMENT entry referencing the invoice.
/// Returns the amount applied: whole minor units, at most `amount_due`.
pub async fn pay_invoice(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    customer_id: Uuid,
    currency: Currency,
    invoice_id: Uuid,
    amount_due: Decimal,
    now: DateTime<Utc>,
) -> AppResult<Decimal> {
    let mut locked = wallets::active_wallets_for_update(conn, tenant_id, customer_id, currency).await?;
    locked.sort_by_key(|w| (w.created_at, w.id));
    let mut due = amount_due;
    let mut applied = Decimal::ZERO;
    for wallet in locked {
        if due <= Decimal::ZERO {
            break;
        }
        let mut ledger = Ledger::open(wallet)?;
        let lots = live_lots(conn, &ledger.wallet).await?;
        ledger.expire(&lots, now)?;
        let payment = invoice_payment(due, currency, ledger.wallet.conversion_rate, &lots, now);
        if payment.credits > Decimal::ZERO {
            let entry = Entry {
                kind: TransactionKind::Debit,
                reason: TransactionReason::InvoicePayment,
                credits: payment.credits,
                amount: payment.amount,
                reference: Some(invoice_id.to_string()),
                lots: payment.takes,
                idempotency_key: None,
            };
            ledger.append(entry, now)?;
            due -= payment.amount;
            applied += payment.amount;
        }
        ledger.save(conn, now).await?;
    }
    Ok(round_amount(applied, currency))
}

/// Gives back what `pay_invoice` took for an invoice (when it is voided),
/// inside the caller's transaction: per paying wallet, one VOID_REFUND
/// entry per payment, putting the credits back into the very lots they came
/// from. A wallet already refunded for the invoice is skipped, so a second
/// call refunds nothing. Returns the amount refunded.
pub async fn refund_invoice(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    invoice_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<Decimal> {
    let reference = invoice_id.to_string();
    let payments = wallets::invoice_payments(conn, tenant_id, &reference).await?;
    let mut wallet_ids: Vec<Uuid> = payments.iter().map(|p| p.wallet_id).collect();
    wallet_ids.sort();
    wallet_ids.dedup();
    if wallet_ids.is_empty() {
        return Ok(Decimal::ZERO);
    }
    let locked = wallets::wallets_for_update(conn, tenant_id, &wallet_ids).await?;
    // Read under the locks: a concurrent refund has either committed or not begun.
    let refunded = wallets::wallets_refunded(conn, tenant_id, &reference, &wallet_ids).await?;
    // A closed wallet holds nothing and takes nothing back; the credits it
    // paid with are not lost, the invoice stays as it is.
    if let Some(closed) = locked.iter().find(|w| !w.is_active() && !refunded.contains(&w.id)) {
        return Err(AppError::conflict(format!(
            "wallet {} paid part of this invoice and is closed, so its credits cannot be given back",
            closed.id
        )));
    }
    let mut total = Decimal::ZERO;
    for wallet in locked.into_iter().filter(|w| !refunded.contains(&w.id)) {
        let wallet_id = wallet.id;
        let mut ledger = Ledger::open(wallet)?;
        for payment in payments.iter().filter(|p| p.wallet_id == wallet_id) {
            let lots = wallets::lot_takes(&payment.lots).map_err(AppError::internal)?;
            let entry = Entry {
                kind: TransactionKind::Credit,
                reason: TransactionReason::VoidRefund,
                credits: payment.credits,
                amount: payment.amount,
                reference: Some(reference.clone()),
                lots,
                idempotency_key: None,
            };
            ledger.append(entry, now)?;
            total += payment.amount;
        }
        ledger.save(conn, now).await?;
    }
    Ok(total)
}

async fn locked_wallet(conn: &mut AsyncPgConnection, tenant_id: Uuid, id: Uuid) -> AppResult<WalletRow> {
    wallets::wallet_for_update(conn, tenant_id, id)
        .await?
        .ok_or_else(|| AppError::not_found("wallet"))
}

fn ensure_active(wallet: &WalletRow) -> AppResult<()> {
    if wallet.is_active() {
        Ok(())
    } else {
        Err(AppError::conflict("wallet is closed"))
    }
}

/// What a request carrying an idempotency key asks for, to compare with
/// what the key did the first time.
struct Replay<'a> {
    reason: TransactionReason,
    credits: Decimal,
    reference: Option<&'a str>,
}

/// The entry `key` already wrote on the locked wallet, if the request is the
/// same; CONFLICT if the key was used for a different one. Looked up under
/// the wallet's lock, so a concurrent twin has committed by then.
async fn replayed(
    conn: &mut AsyncPgConnection,
    wallet: &WalletRow,
    key: &str,
    request: &Replay<'_>,
) -> AppResult<Option<TransactionRow>> {
    let Some(first) = wallets::transaction_by_idempotency_key(conn, wallet.tenant_id, wallet.id, key).await? else {
        return Ok(None);
    };
    let same = first.reason == request.reason
        && first.credits == request.credits
        && first.reference.as_deref() == request.reference;
    if same {
        Ok(Some(first))
    } else {
        Err(AppError::conflict(
            "idempotencyKey was already used on this wallet for a different request",
        ))
    }
}

/// The wallet's lots that hold credits, in creation order.
async fn live_lots(conn: &mut AsyncPgConnection, wallet: &WalletRow) -> AppResult<Vec<Lot>> {
    let rows = wallets::lots_with_credits(conn, wallet.tenant_id, wallet.id).await?;
    Ok(rows
        .into_iter()
        .map(|r| Lot {
            id: r.id,
            remaining: r.remaining,
            expires_at: r.expires_at,
        })
        .collect())
}

fn last_entry(mut entries: Vec<TransactionRow>) -> AppResult<TransactionRow> {
    entries
        .pop()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("a wallet operation wrote no entry")))
}

/// One ledger entry to append: which way its credits move, why, and the
/// lots they move out of (DEBIT) or into (CREDIT), adding up to `credits`.
struct Entry {
    kind: TransactionKind,
    reason: TransactionReason,
    credits: Decimal,
    amount: Decimal,
    reference: Option<String>,
    lots: Vec<(Uuid, Decimal)>,
    idempotency_key: Option<String>,
}

/// A locked wallet and the changes one operation makes to it, kept in
/// memory and written together by `save`.
struct Ledger {
    wallet: WalletRow,
    currency: Currency,
    balance: Decimal,
    entries: Vec<TransactionRow>,
    /// The net change of each lot's remaining credits.
    lot_changes: BTreeMap<Uuid, Decimal>,
}

impl Ledger {
    fn open(wallet: WalletRow) -> AppResult<Self> {
        Ok(Ledger {
            currency: wallet_currency(&wallet)?,
            balance: wallet.credit_balance,
            wallet,
            entries: Vec::new(),
            lot_changes: BTreeMap::new(),
        })
    }

    /// What `credits` are worth in the wallet's currency.
    fn worth(&self, credits: Decimal) -> AppResult<Decimal> {
        credits_to_amount(credits, self.wallet.conversion_rate, self.currency).ok_or_else(|| out_of_range(&self.wallet))
    }

    /// Appends one EXPIRY entry per lot expired at `now`; returns how many.
    fn expire(&mut self, lots: &[Lot], now: DateTime<Utc>) -> AppResult<usize> {
        let expired = expired_lots(lots, now);
        for &(lot, credits) in &expired {
            let entry = Entry {
                kind: TransactionKind::Debit,
                reason: TransactionReason::Expiry,
                credits,
                amount: self.worth(credits)?,
                reference: Some(lot.to_string()),
                lots: vec![(lot, credits)],
                idempotency_key: None,
            };
            self.append(entry, now)?;
        }
        Ok(expired.len())
    }

    fn append(&mut self, entry: Entry, now: DateTime<Utc>) -> AppResult<()> {
        let credit = entry.kind == TransactionKind::Credit;
        let balance = if credit {
            self.balance.checked_add(entry.credits)
        } else {
            self.balance.checked_sub(entry.credits)
        };
        self.balance = balance
            .filter(|b| *b >= Decimal::ZERO)
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("wallet {} balance out of range", self.wallet.id)))?;
        for &(lot, credits) in &entry.lots {
            let change = if credit { credits } else { -credits };
            *self.lot_changes.entry(lot).or_default() += change;
        }
        self.entries.push(TransactionRow {
            tenant_id: self.wallet.tenant_id,
            // Time-ordered: the ledger's order is the id order.
            id: Uuid::now_v7(),
            wallet_id: self.wallet.id,
            kind: entry.kind,
            credits: entry.credits,
            amount: entry.amount,
            balance_after: self.balance,
            reason: entry.reason,
            reference: entry.reference,
            lots: wallets::lots_json(&entry.lots),
            idempotency_key: entry.idempotency_key,
            created_at: now,
        });
        Ok(())
    }

    /// Writes the lot changes, the entries and the new balance; returns the
    /// entries as stored, in ledger order.
    async fn save(self, conn: &mut AsyncPgConnection, now: DateTime<Utc>) -> AppResult<Vec<TransactionRow>> {
        if self.entries.is_empty() {
            return Ok(Vec::new());
        }
        let (tenant_id, wallet_id) = (self.wallet.tenant_id, self.wallet.id);
        let changes: Vec<(Uuid, Decimal)> = self.lot_changes.into_iter().filter(|(_, c)| !c.is_zero()).collect();
        if !changes.is_empty() {
            let changed = wallets::add_to_lots(conn, tenant_id, wallet_id, &changes).await?;
            if changed != changes.len() {
                return Err(AppError::internal(anyhow::anyhow!(
                    "wallet {wallet_id}: {} of {} lots to change were found",
                    changed,
                    changes.len()
                )));
            }
        }
        let stored =
            wallets::insert_transactions(conn, &self.entries)
                .await
                .map_err(|e| match unique_violation(&e) {
                    // The wallet lock makes this unreachable; the index is the backstop.
                    Some(IDEMPOTENCY_INDEX) => AppError::conflict("idempotencyKey was already used on this wallet"),
                    _ => AppError::from(e),
                })?;
        wallets::set_balance(conn, tenant_id, wallet_id, self.balance, now).await?;
        let before = self.wallet.credit_balance;
        let mut wallet = self.wallet;
        wallet.credit_balance = self.balance;
        wallet.updated_at = now;
        announce(conn, &wallet, before, &stored).await?;
        Ok(stored)
    }
}

/// The events of one saved wallet change: wallet.topped_up when it added
/// credits, wallet.debited when it took some (spending, invoice payments,
/// expiry, closing), and wallet.low_balance when the balance went below
/// the wallet's threshold.
async fn announce(
    conn: &mut AsyncPgConnection,
    wallet: &WalletRow,
    before: Decimal,
    entries: &[TransactionRow],
) -> AppResult<()> {
    let view = WalletView::from(wallet);
    let (tenant_id, id) = (wallet.tenant_id, wallet.id);
    if entries.iter().any(|e| e.kind == TransactionKind::Credit) {
        outbox::emit(conn, tenant_id, EventType::WalletToppedUp, id, &view).await?;
    }
    if entries.iter().any(|e| e.kind == TransactionKind::Debit) {
        outbox::emit(conn, tenant_id, EventType::WalletDebited, id, &view).await?;
    }
    if crossed_below(wallet.low_balance_threshold, before, wallet.credit_balance) {
        outbox::emit(conn, tenant_id, EventType::WalletLowBalance, id, &view).await?;
    }
    Ok(())
}
