//! Queries and mutations of wallets.

use async_graphql::{Context, Enum, InputObject, Object, Result};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::billing::wallets::{self, LotKind, ManualDebit, NewWallet, TopUp};
use crate::domain::customer::validate_optional_text;
use crate::domain::money::Currency;
use crate::domain::validation::{required_text, validate_idempotency_key};
use crate::domain::wallet::{validate_conversion_rate, validate_credits};
use crate::error::{AppError, AppResult};
use crate::graphql::context::ContextExt;
use crate::graphql::wallets::loaders::WalletById;
use crate::graphql::wallets::wallet::{Wallet, WalletTransaction};

/// Longest wallet name, in characters.
const MAX_NAME_CHARS: usize = 200;

/// A new wallet.
#[derive(InputObject, Debug, Clone)]
pub struct CreateWalletInput {
    /// The owner, an active customer (NOT_FOUND when unknown).
    pub customer_id: Uuid,
    /// ISO 4217 code; the wallet pays invoices in this currency only.
    pub currency: String,
    /// Display name, 1 to 255 characters.
    pub name: String,
    /// What one credit is worth in the currency (0.01: 100 credits buy one unit).
    #[graphql(default_with = "Decimal::ONE")]
    pub conversion_rate: Decimal,
    /// A debit that takes the credit balance below this many credits emits
    /// the wallet.low_balance event (once per crossing).
    pub low_balance_threshold: Option<Decimal>,
}

impl CreateWalletInput {
    fn validate(self) -> AppResult<NewWallet> {
        Ok(NewWallet {
            customer_id: self.customer_id,
            currency: Currency::parse("input.currency", &self.currency)?,
            name: required_text("input.name", &self.name, MAX_NAME_CHARS)?,
            conversion_rate: validate_conversion_rate("input.conversionRate", self.conversion_rate)?,
            low_balance_threshold: self
                .low_balance_threshold
                .map(|t| validate_credits("input.lowBalanceThreshold", t))
                .transpose()?,
        })
    }
}

/// Whether a top-up was paid for or granted.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum TopUpKind {
    /// Paid for by the customer.
    Purchased,
    /// Granted (a promotion, a goodwill credit).
    Free,
}

impl From<TopUpKind> for LotKind {
    fn from(kind: TopUpKind) -> Self {
        match kind {
            TopUpKind::Purchased => LotKind::Purchased,
            TopUpKind::Free => LotKind::Free,
        }
    }
}

/// Credits to add to a wallet.
#[derive(InputObject, Debug, Clone)]
pub struct TopUpWalletInput {
    /// Credits to add: above 0, at most 6 decimal places; the balance after
    /// it may hold at most 10^15 credits, worth at most 10^15 in the currency.
    pub credits: Decimal,
    /// Paid for or granted. Default PURCHASED.
    #[graphql(default_with = "TopUpKind::Purchased")]
    pub kind: TopUpKind,
    /// The credits can be spent strictly before this instant; never expire when null.
    pub expires_at: Option<DateTime<Utc>>,
    /// Repeating a top-up with the same key returns the first result
    /// instead of adding the credits again.
    pub idempotency_key: String,
}

impl TopUpWalletInput {
    fn validate(self, now: DateTime<Utc>) -> AppResult<TopUp> {
        if self.expires_at.is_some_and(|at| at <= now) {
            return Err(AppError::validation("input.expiresAt", "must be in the future"));
        }
        Ok(TopUp {
            credits: validate_credits("input.credits", self.credits)?,
            kind: self.kind.into(),
            expires_at: self.expires_at,
            idempotency_key: validate_idempotency_key("input.idempotencyKey", &self.idempotency_key)?,
        })
    }
}

/// Why a client debits a wallet; other reasons are the system's own.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum DebitReason {
    /// A debit the client asked for.
    Manual,
}

/// Credits to take from a wallet.
#[derive(InputObject, Debug, Clone)]
pub struct DebitWalletInput {
    /// Credits to take: above 0, at most 6 decimal places.
    pub credits: Decimal,
    /// Why. Default MANUAL.
    #[graphql(default_with = "DebitReason::Manual")]
    pub reason: DebitReason,
    /// The client's own note or id for the debit.
    pub reference: Option<String>,
    /// Repeating a debit with the same key returns the first result
    /// instead of taking the credits again.
    pub idempotency_key: String,
}

impl DebitWalletInput {
    fn validate(self) -> AppResult<ManualDebit> {
        let DebitReason::Manual = self.reason;
        let reference = match &self.reference {
            Some(text) => validate_optional_text("input.reference", text)?,
            None => None,
        };
        Ok(ManualDebit {
            credits: validate_credits("input.credits", self.credits)?,
            reference,
            idempotency_key: validate_idempotency_key("input.idempotencyKey", &self.idempotency_key)?,
        })
    }
}

#[derive(Default)]
pub struct WalletQueryRoot;

#[Object]
impl WalletQueryRoot {
    /// The wallet with this id. Another tenant's id, or none: NOT_FOUND.
    async fn wallet(&self, ctx: &Context<'_>, #[graphql(desc = "The wallet's id.")] id: Uuid) -> Result<Wallet> {
        let row = ctx.loader().load_one(WalletById(id)).await?;
        Ok(Wallet(row.ok_or_else(|| AppError::not_found("wallet"))?))
    }
}

#[derive(Default)]
pub struct WalletMutationRoot;

#[Object]
impl WalletMutationRoot {
    /// Opens an empty wallet for an active customer.
    async fn create_wallet(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The wallet. VALIDATION names the bad field (`input.currency`, `input.conversionRate`, ...)."
        )]
        input: CreateWalletInput,
    ) -> Result<Wallet> {
        let new = input.validate()?;
        Ok(Wallet(
            wallets::create_wallet(ctx.pool(), ctx.tenant_id(), new, ctx.now()).await?,
        ))
    }

    /// Sets the credit balance below which a debit emits wallet.low_balance;
    /// null clears it.
    async fn set_wallet_low_balance_threshold(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The wallet. Another tenant's id, or none: NOT_FOUND.")] id: Uuid,
        #[graphql(
            desc = "The threshold in credits (above 0, at most 6 decimal places; VALIDATION on `credits`), or null to clear it."
        )]
        credits: Option<Decimal>,
    ) -> Result<Wallet> {
        let threshold = credits
            .map(|t| validate_credits("credits", t))
            .transpose()
            .map_err(AppError::from)?;
        Ok(Wallet(
            wallets::set_low_balance_threshold(ctx.pool(), ctx.tenant_id(), id, threshold, ctx.now()).await?,
        ))
    }

    /// Adds credits to the wallet as a new lot.
    async fn top_up_wallet(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The wallet, active (CONFLICT when closed). Another tenant's id, or none: NOT_FOUND.")]
        wallet_id: Uuid,
        #[graphql(
            desc = "The credits. VALIDATION names the bad field; CONFLICT when the idempotencyKey was used on this wallet for a different request."
        )]
        input: TopUpWalletInput,
    ) -> Result<WalletTransaction> {
        let top_up = input.validate(ctx.now())?;
        Ok(WalletTransaction(
            wallets::top_up(ctx.pool(), ctx.tenant_id(), wallet_id, top_up, ctx.now()).await?,
        ))
    }

    /// Closes the wallet: no more top-ups, debits or invoice payments;
    /// closing it again is a CONFLICT. A wallet still holding spendable
    /// credits is closed only with forfeitCredits: true, which writes them
    /// off in one WALLET_CLOSED entry; otherwise the answer is a CONFLICT
    /// naming them.
    async fn close_wallet(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The wallet. Another tenant's id, or none: NOT_FOUND.")] id: Uuid,
        #[graphql(
            default = false,
            desc = "Write off spendable credits it still holds. Default false (then such a wallet is refused with CONFLICT)."
        )]
        forfeit_credits: bool,
    ) -> Result<Wallet> {
        Ok(Wallet(
            wallets::close(ctx.pool(), ctx.tenant_id(), id, forfeit_credits, ctx.now()).await?,
        ))
    }

    /// Takes credits, soonest-expiring first; all or nothing.
    async fn debit_wallet(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The wallet, active (CONFLICT when closed). Another tenant's id, or none: NOT_FOUND.")]
        wallet_id: Uuid,
        #[graphql(
            desc = "The credits. More than the spendable balance: INSUFFICIENT_FUNDS, nothing taken; the idempotencyKey used for a different request: CONFLICT."
        )]
        input: DebitWalletInput,
    ) -> Result<WalletTransaction> {
        let debit = input.validate()?;
        Ok(WalletTransaction(
            wallets::debit(ctx.pool(), ctx.tenant_id(), wallet_id, debit, ctx.now()).await?,
        ))
    }
}
