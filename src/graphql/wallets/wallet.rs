//! Prepaid credit wallets and their ledgers.

use async_graphql::{Context, Enum, Object, Result};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::billing::wallets::{balance_amount, wallet_currency};
use crate::db::wallets::{TransactionPageKey, TransactionRow, WalletRow};
use crate::domain::money::round_amount;
use crate::error::AppError;
use crate::graphql::connection::{Connection, Total};
use crate::graphql::context::ContextExt;
use crate::graphql::customers::customer::Customer;
use crate::graphql::customers::loaders::CustomerById;
use crate::graphql::pagination::{PageRequest, page_complexity};
use crate::graphql::wallets::loaders::{WalletById, WalletTransactionCount, WalletTransactionsPage};

/// Whether a wallet takes and pays.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::wallet::WalletStatus")]
pub enum WalletStatus {
    /// Takes top-ups and debits and pays invoices in its currency.
    Active,
    /// Refuses top-ups, debits and invoice payments.
    Closed,
}

/// Which way a ledger entry moves credits.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::wallet::TransactionKind")]
pub enum WalletTransactionKind {
    /// Credits added to the wallet.
    Credit,
    /// Credits taken out of the wallet.
    Debit,
}

/// Why a ledger entry was written.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::wallet::TransactionReason")]
pub enum WalletTransactionReason {
    /// Credits added by topUpWallet.
    TopUp,
    /// Credits spent on an invoice; the reference is the invoice id.
    InvoicePayment,
    /// Credits of a lot that expired unspent; the reference is the lot id.
    Expiry,
    /// Credits of an invoice payment given back when the invoice was voided.
    VoidRefund,
    /// A debit a client asked for.
    Manual,
    /// Credits granted for the refunded part of a credit note; the
    /// reference is the credit note id.
    CreditNoteRefund,
    /// Credits written off when the wallet was closed with them.
    WalletClosed,
}

#[derive(Clone)]
pub struct Wallet(pub WalletRow);

/// A customer's prepaid credits in one currency.
#[Object]
impl Wallet {
    /// The wallet's id.
    async fn id(&self) -> Uuid {
        self.0.id
    }

    /// The customer who owns the wallet.
    async fn customer(&self, ctx: &Context<'_>) -> Result<Customer> {
        let row = ctx.loader().load_one(CustomerById(self.0.customer_id)).await?;
        Ok(Customer(row.ok_or_else(|| AppError::not_found("customer"))?))
    }

    /// ISO 4217 code of the balance and of every entry's amount.
    async fn currency(&self) -> &str {
        self.0.currency.code()
    }

    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// What one credit is worth in the wallet's currency.
    async fn conversion_rate(&self) -> Decimal {
        self.0.conversion_rate
    }

    /// ACTIVE or CLOSED.
    async fn status(&self) -> WalletStatus {
        self.0.status.into()
    }

    /// Credits held: the ledger's credits minus its debits.
    async fn credit_balance(&self) -> Decimal {
        self.0.credit_balance
    }

    /// What the credits held are worth, rounded to the currency's minor unit.
    async fn balance(&self) -> Result<Decimal> {
        Ok(balance_amount(&self.0)?)
    }

    /// A debit that takes creditBalance below this emits wallet.low_balance.
    async fn low_balance_threshold(&self) -> Option<Decimal> {
        self.0.low_balance_threshold
    }

    /// The ledger, newest entry first.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn transactions(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Page size (default 20, at most 100: the server's BILLGRAPH_DEFAULT_PAGE_SIZE and BILLGRAPH_MAX_PAGE_SIZE). Negative or above the maximum: VALIDATION on `first`."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "Start after this cursor (an edge's `cursor` or `pageInfo.endCursor`); omitted: from the start. Unreadable: VALIDATION on `after`."
        )]
        after: Option<String>,
    ) -> Result<WalletTransactionConnection> {
        WalletTransactionConnection::load(ctx, self.0.id, first, after).await
    }

    /// When the wallet was opened (UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When it was closed; null while active.
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.closed_at
    }
}

#[derive(Clone)]
pub struct WalletTransaction(pub TransactionRow);

/// One entry of a wallet's append-only ledger.
#[Object]
impl WalletTransaction {
    /// The entry's id.
    async fn id(&self) -> Uuid {
        self.0.id
    }

    /// The wallet's id.
    async fn wallet_id(&self) -> Uuid {
        self.0.wallet_id
    }

    /// CREDIT (added) or DEBIT (taken).
    async fn kind(&self) -> WalletTransactionKind {
        self.0.kind.into()
    }

    /// Credits moved, always positive; `kind` says which way.
    async fn credits(&self) -> Decimal {
        self.0.credits
    }

    /// What the credits are worth in the wallet's currency; for invoice
    /// payments and their refunds, the money applied to the invoice.
    async fn amount(&self, ctx: &Context<'_>) -> Result<Decimal> {
        if !self.0.amount.is_zero() {
            return Ok(self.0.amount);
        }
        // The PostgreSQL driver stores a zero Decimal without its scale; pad it again.
        let wallet = ctx.loader().load_one(WalletById(self.0.wallet_id)).await?;
        let wallet = wallet.ok_or_else(|| AppError::not_found("wallet"))?;
        Ok(round_amount(Decimal::ZERO, wallet_currency(&wallet)?))
    }

    /// The wallet's credit balance right after this entry.
    async fn balance_after(&self) -> Decimal {
        self.0.balance_after
    }

    /// Why the entry was written.
    async fn reason(&self) -> WalletTransactionReason {
        self.0.reason.into()
    }

    /// What the entry is about: an invoice id, a lot id, a credit note id,
    /// or the client's text.
    async fn reference(&self) -> Option<&str> {
        self.0.reference.as_deref()
    }

    /// When the entry was written (UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

pub type WalletTransactionConnection = Connection<WalletTransaction>;

impl WalletTransactionConnection {
    /// One page of a wallet's ledger, through the page loader.
    pub async fn load(ctx: &Context<'_>, wallet_id: Uuid, first: Option<i32>, after: Option<String>) -> Result<Self> {
        let page = PageRequest::parse(first, after.as_deref(), ctx.limits())?;
        let key = TransactionPageKey {
            wallet_id,
            after: page.after,
            limit: page.fetch_limit(),
        };
        let rows = ctx
            .loader()
            .load_one(WalletTransactionsPage(key))
            .await?
            .unwrap_or_default();
        Ok(WalletTransactionConnection::from_rows(
            rows,
            &page,
            Total::loaded(WalletTransactionCount(wallet_id)),
            |r| r.id,
            WalletTransaction,
        ))
    }
}
