//! Prepaid credit wallets: converting between credits and money, choosing
//! which credits a debit spends, and how much of an invoice a wallet pays.
//!
//! A wallet holds credits, not money. Its `conversion_rate` is what one
//! credit is worth in the wallet's currency (0.01 means 100 credits buy one
//! USD). Credits are decimals with at most `CREDIT_DECIMALS` places, so the
//! smallest credit is 0.000001.
//!
//! Credits live in lots, one per top-up, each with what is left of it and an
//! optional expiry. Spending drains the lots that expire soonest first, so a
//! customer never loses credits to expiry while later-expiring ones are
//! spent; lots that never expire go last.
//!
//! Conversions round against the side that would otherwise get something
//! for nothing: a wallet never pays out more money than the credits it
//! gives up are worth, and money never buys more credits than it is worth.
//! The customer's loss is bounded by one smallest credit (0.000001) per
//! conversion.
//!
//! Conversions are rounded once, exactly: they are computed on the integer
//! mantissas whenever those fit in 128 bits (any amount up to 10^15 divided
//! by any valid rate; 10^15 credits times any valid rate of up to 17
//! significant digits). Beyond that they fall back to Decimal arithmetic,
//! exact within its 28 significant digits; a result beyond Decimal's range
//! is None, never a saturated figure.
//!
//! A top-up may not take a wallet past `MAX_CREDITS`, nor past credits
//! worth `money::MAX_AMOUNT` (`check_top_up`), so every worth computed from
//! a balance is an amount like any other.

use chrono::{DateTime, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use uuid::Uuid;

use super::ValidationError;
use super::money::{self, Currency, round_amount};
use crate::domain::stored::stored_enum;

stored_enum! {
    /// A wallet takes top-ups and pays invoices while active.
    pub enum WalletStatus {
        Active = "ACTIVE",
        Closed = "CLOSED",
    }
}

stored_enum! {
    /// Which way a ledger entry moves credits.
    pub enum TransactionKind {
        Credit = "CREDIT",
        Debit = "DEBIT",
    }
}

stored_enum! {
    /// Why a ledger entry was written.
    pub enum TransactionReason {
        TopUp = "TOP_UP",
        /// Credits spent on an invoice; the reference is the invoice id.
        InvoicePayment = "INVOICE_PAYMENT",
        /// Credits of a lot that expired unspent; the reference is the lot id.
        Expiry = "EXPIRY",
        /// Credits of an invoice payment given back when the invoice was voided.
        VoidRefund = "VOID_REFUND",
        /// A debit a client asked for.
        Manual = "MANUAL",
        /// Credits granted for the refunded part of a credit note; the
        /// reference is the credit note id.
        CreditNoteRefund = "CREDIT_NOTE_REFUND",
        /// Credits written off when the wallet was closed with them.
        WalletClosed = "WALLET_CLOSED",
    }
}

stored_enum! {
    /// Whether a top-up was paid for or granted.
    pub enum LotKind {
        Purchased = "PURCHASED",
        Free = "FREE",
    }
}

/// Decimal places a credit amount may have.
pub const CREDIT_DECIMALS: u32 = 6;

/// Largest credit amount one operation may carry (10^15), like `money::MAX_AMOUNT`.
pub const MAX_CREDITS: Decimal = Decimal::from_parts(0xA4C6_8000, 0x0003_8D7E, 0, false, 0);

/// Decimal places a conversion rate may have: enough for 1 credit = 10^-12
/// of a currency unit, few enough that `credits * rate` stays exact.
pub const MAX_RATE_DECIMALS: u32 = 12;

/// Largest conversion rate (10^12): far above any sensible credit, and with
/// `MAX_CREDITS` the product stays below Decimal's range.
pub const MAX_CONVERSION_RATE: Decimal = Decimal::from_parts(0xD4A5_1000, 0xE8, 0, false, 0);

/// Checks a wallet's conversion rate: above 0 (a free credit would be worth
/// nothing and break every division), at most `MAX_RATE_DECIMALS` places and
/// at most `MAX_CONVERSION_RATE`. Returns it without trailing zeros.
pub fn validate_conversion_rate(field: &str, rate: Decimal) -> Result<Decimal, ValidationError> {
    check_positive(field, rate, MAX_RATE_DECIMALS, MAX_CONVERSION_RATE)
}

/// Checks a credit amount a client sends (a top-up, a grant): above 0, at
/// most `CREDIT_DECIMALS` places and at most `MAX_CREDITS`. Returns it
/// without trailing zeros, so 1.50 and 1.5 are stored alike.
pub fn validate_credits(field: &str, credits: Decimal) -> Result<Decimal, ValidationError> {
    check_positive(field, credits, CREDIT_DECIMALS, MAX_CREDITS)
}

fn check_positive(field: &str, value: Decimal, max_decimals: u32, max: Decimal) -> Result<Decimal, ValidationError> {
    let value = value.normalize();
    if value <= Decimal::ZERO {
        return Err(ValidationError::new(field, "must be greater than 0"));
    }
    if value.scale() > max_decimals {
        return Err(ValidationError::new(
            field,
            format!("must have at most {max_decimals} decimal places"),
        ));
    }
    if value > max {
        return Err(ValidationError::new(field, format!("must be at most {max}")));
    }
    Ok(value)
}

/// Checks a top-up of `credits` to a wallet holding `balance` at `rate`:
/// the balance after it stays within `MAX_CREDITS` and is worth at most
/// `money::MAX_AMOUNT`. The error names `field`, the top-up's credits.
pub fn check_top_up(
    field: &str,
    balance: Decimal,
    credits: Decimal,
    rate: Decimal,
    currency: Currency,
) -> Result<(), ValidationError> {
    let after = balance.checked_add(credits).filter(|after| *after <= MAX_CREDITS);
    let Some(after) = after else {
        return Err(ValidationError::new(
            field,
            format!("would take the wallet's balance above {MAX_CREDITS} credits"),
        ));
    };
    let worth = after.checked_mul(rate).map(|w| round_amount(w, currency));
    if worth.is_none_or(|w| w > money::MAX_AMOUNT) {
        return Err(ValidationError::new(
            field,
            format!(
                "would make the wallet's balance worth more than {} {currency}",
                money::MAX_AMOUNT
            ),
        ));
    }
    Ok(())
}

/// What `credits` are worth in `currency`, rounded half away from zero like
/// every displayed amount. This is for showing a balance; paying with
/// credits goes through `invoice_payment`, which rounds the worth down so
/// it never pays out a fraction of a minor unit it does not hold.
/// None when the worth leaves Decimal's range.
pub fn credits_to_amount(credits: Decimal, rate: Decimal, currency: Currency) -> Option<Decimal> {
    credits.checked_mul(rate).map(|worth| round_amount(worth, currency))
}

/// The credits `amount` of money buys: `amount / rate`, rounded DOWN to
/// `CREDIT_DECIMALS` places, so a top-up never grants credits worth more
/// than what was paid (the customer loses under 0.000001 credit).
///
/// A non-positive amount or rate buys nothing; None when the credits leave
/// Decimal's range.
pub fn amount_to_credits(amount: Decimal, rate: Decimal) -> Option<Decimal> {
    if amount <= Decimal::ZERO || rate <= Decimal::ZERO {
        return Some(Decimal::ZERO);
    }
    divide(amount, rate, CREDIT_DECIMALS, RoundingStrategy::ToZero).map(|credits| credits.normalize())
}

/// The credits needed to cover `amount`: `amount / rate`, rounded UP to
/// `CREDIT_DECIMALS` places, so the credits given up are always worth at
/// least the money they pay.
fn credits_covering(amount: Decimal, rate: Decimal) -> Option<Decimal> {
    if amount <= Decimal::ZERO || rate <= Decimal::ZERO {
        return Some(Decimal::ZERO);
    }
    divide(amount, rate, CREDIT_DECIMALS, RoundingStrategy::AwayFromZero).map(|credits| credits.normalize())
}

/// One top-up's worth of credits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lot {
    pub id: Uuid,
    /// Credits not yet spent or expired.
    pub remaining: Decimal,
    /// The lot is spendable strictly before this instant; `None` never expires.
    pub expires_at: Option<DateTime<Utc>>,
}

impl Lot {
    /// Spendable at `now`: not yet expired and not empty. A lot expiring
    /// exactly at `now` is already expired, so a debit and the expiry run
    /// at the same instant can never both claim the same credits.
    pub fn is_spendable(&self, now: DateTime<Utc>) -> bool {
        self.remaining > Decimal::ZERO && self.expires_at.is_none_or(|at| at > now)
    }

    /// Expired at `now` with credits left that an expiry must remove.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.remaining > Decimal::ZERO && self.expires_at.is_some_and(|at| at <= now)
    }
}

/// A debit asked for more credits than the wallet can spend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("insufficient credits: {available} available")]
pub struct InsufficientCredits {
    /// The credits that could be spent at the time.
    pub available: Decimal,
}

/// The credits a wallet can spend at `now`: the unexpired remainder of its
/// lots. None when they add up beyond Decimal's range: more than any debit
/// or invoice can ask for.
pub fn spendable_credits(lots: &[Lot], now: DateTime<Utc>) -> Option<Decimal> {
    money::checked_sum(lots.iter().filter(|lot| lot.is_spendable(now)).map(|lot| lot.remaining))
}

/// Which lots a debit of exactly `credits` takes from, and how much from
/// each: `(lot id, credits taken)`, in the order they are drained.
///
/// All or nothing: a debit the spendable credits cannot cover is refused
/// with what is available, so a usage charge is never half applied. A
/// debit of 0 or less takes nothing.
pub fn plan_debit(
    lots: &[Lot],
    credits: Decimal,
    now: DateTime<Utc>,
) -> Result<Vec<(Uuid, Decimal)>, InsufficientCredits> {
    match spendable_credits(lots, now) {
        Some(available) if credits > available => Err(InsufficientCredits { available }),
        _ => Ok(take(lots, credits, now)),
    }
}

/// Like `plan_debit`, but takes as much as is spendable up to `wanted`
/// instead of refusing: when a wallet pays an invoice it pays what it can
/// and the rest stays due.
pub fn plan_partial_debit(lots: &[Lot], wanted: Decimal, now: DateTime<Utc>) -> Vec<(Uuid, Decimal)> {
    take(lots, wanted, now)
}

/// The lots an expiry run at `now` empties, with the credits each loses:
/// expired (`expires_at <= now`) and not already empty. In the order given.
pub fn expired_lots(lots: &[Lot], now: DateTime<Utc>) -> Vec<(Uuid, Decimal)> {
    lots.iter()
        .filter(|lot| lot.is_expired(now))
        .map(|lot| (lot.id, lot.remaining))
        .collect()
}

/// Closing a wallet that still holds spendable credits without agreeing
/// to lose them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the wallet holds {credits} spendable credits")]
pub struct CreditsLeft {
    pub credits: Decimal,
}

/// What closing a wallet at `now` takes from its lots (after the expired
/// ones are expired): nothing when no credit is spendable; otherwise, with
/// `forfeit`, every spendable lot's whole remainder, in the order given
/// (one WALLET_CLOSED entry writes them off), and without it a refusal
/// naming the credits, so no credit is ever lost by an unmeant close.
pub fn credits_forfeited_on_close(
    lots: &[Lot],
    now: DateTime<Utc>,
    forfeit: bool,
) -> Result<Vec<(Uuid, Decimal)>, CreditsLeft> {
    let spendable: Vec<(Uuid, Decimal)> = lots
        .iter()
        .filter(|lot| lot.is_spendable(now))
        .map(|lot| (lot.id, lot.remaining))
        .collect();
    if spendable.is_empty() || forfeit {
        return Ok(spendable);
    }
    Err(CreditsLeft {
        credits: spendable.iter().map(|(_, credits)| *credits).sum(),
    })
}

/// The spendable lots in the order they are drained: soonest expiry first,
/// never-expiring lots last, ties in the order given (callers pass lots in
/// creation order, so older top-ups go first).
fn spend_order(lots: &[Lot], now: DateTime<Utc>) -> Vec<&Lot> {
    let mut order: Vec<&Lot> = lots.iter().filter(|lot| lot.is_spendable(now)).collect();
    // Stable sort: equal keys keep their input order.
    order.sort_by_key(|lot| (lot.expires_at.is_none(), lot.expires_at));
    order
}

/// Drains up to `wanted` credits in spend order. No lot gives more than it
/// has, so none goes below zero; the takes add up to `min(wanted, spendable)`.
fn take(lots: &[Lot], wanted: Decimal, now: DateTime<Utc>) -> Vec<(Uuid, Decimal)> {
    let mut left = wanted;
    let mut takes = Vec::new();
    for lot in spend_order(lots, now) {
        if left <= Decimal::ZERO {
            break;
        }
        let taken = lot.remaining.min(left);
        takes.push((lot.id, taken));
        // Both are non-negative and taken <= left: no overflow, no sign flip.
        left -= taken;
    }
    takes
}

/// How much of an invoice a wallet pays, and the credits that pays with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletPayment {
    /// Credits debited: the sum of `takes`.
    pub credits: Decimal,
    /// Money paid toward the invoice, a whole number of minor units.
    pub amount: Decimal,
    /// `(lot id, credits taken)` in the order the lots are drained.
    pub takes: Vec<(Uuid, Decimal)>,
}

/// How much of `amount_due` a wallet with `lots` at `rate` pays at `now`.
///
/// The rules, in order:
/// - The amount is a whole number of minor units (a payment cannot be in
///   fractions of a cent), and it is the largest such amount that is at
///   most `amount_due` and at most what the spendable credits are worth,
///   that worth rounded DOWN to minor units: the wallet never pays money it
///   does not hold, and never more than is owed.
/// - The credits debited are `amount / rate` rounded UP to
///   `CREDIT_DECIMALS` places, so they are always worth at least the amount
///   paid (at most 0.000001 credit above the exact value), capped at the
///   spendable credits (the cap only binds on lots finer than
///   `CREDIT_DECIMALS`, which validation does not let in).
/// - They are taken like any debit: soonest expiry first, expired lots
///   untouched.
///
/// A wallet whose credits are worth less than one minor unit, a
/// non-positive rate or nothing due pays nothing and debits nothing.
pub fn invoice_payment(
    amount_due: Decimal,
    currency: Currency,
    rate: Decimal,
    lots: &[Lot],
    now: DateTime<Utc>,
) -> WalletPayment {
    let nothing = WalletPayment {
        credits: Decimal::ZERO,
        amount: round_amount(Decimal::ZERO, currency),
        takes: Vec::new(),
    };
    if amount_due <= Decimal::ZERO || rate <= Decimal::ZERO {
        return nothing;
    }
    let spendable = spendable_credits(lots, now);
    // Credits beyond Decimal's range are worth more than anything due.
    let worth = spendable.and_then(|credits| worth_down(credits, rate, currency));
    let due = floor_amount(amount_due, currency);
    let amount = worth.map_or(due, |worth| due.min(worth));
    if amount <= Decimal::ZERO {
        return nothing;
    }
    // Only an amount beyond any valid input needs credits past Decimal's
    // range; such a wallet pays nothing rather than a guess.
    let Some(credits) = credits_covering(amount, rate) else {
        return nothing;
    };
    let credits = spendable.map_or(credits, |spendable| credits.min(spendable));
    WalletPayment {
        credits,
        amount,
        takes: take(lots, credits, now),
    }
}

/// What `credits` are worth, rounded DOWN to whole minor units; None
/// beyond Decimal's range.
fn worth_down(credits: Decimal, rate: Decimal, currency: Currency) -> Option<Decimal> {
    if credits <= Decimal::ZERO || rate <= Decimal::ZERO {
        return Some(round_amount(Decimal::ZERO, currency));
    }
    let exact = multiply(credits, rate, currency.minor_units(), RoundingStrategy::ToZero)?;
    Some(floor_amount(exact, currency))
}

/// A non-negative amount rounded DOWN to whole minor units and padded to
/// them (negative amounts count as 0).
fn floor_amount(amount: Decimal, currency: Currency) -> Decimal {
    let mut floored = amount
        .max(Decimal::ZERO)
        .round_dp_with_strategy(currency.minor_units(), RoundingStrategy::ToZero);
    floored.rescale(currency.minor_units());
    floored
}

/// `a / b` for positive `a` and `b`, rounded to `scale` places with
/// `strategy` (`ToZero` or `AwayFromZero`).
///
/// Exact: computed on the integer mantissas when they fit in 128 bits, so a
/// quotient that Decimal would round to 28 digits (and so possibly across a
/// 0.000001 boundary) is rounded only once, here. Otherwise falls back to
/// Decimal division; None beyond Decimal's range.
fn divide(a: Decimal, b: Decimal, scale: u32, strategy: RoundingStrategy) -> Option<Decimal> {
    // a / b * 10^scale = a_m * 10^(b_s + scale - a_s) / b_m
    let exponent = i64::from(b.scale()) + i64::from(scale) - i64::from(a.scale());
    let (numerator, denominator) = if exponent >= 0 {
        (scaled(a.mantissa(), exponent), b.mantissa().checked_abs())
    } else {
        (a.mantissa().checked_abs(), scaled(b.mantissa(), -exponent))
    };
    let exact = numerator
        .zip(denominator)
        .and_then(|(n, d)| integer_quotient(n, d, strategy))
        .and_then(|q| Decimal::try_from_i128_with_scale(q, scale).ok());
    exact.or_else(|| a.checked_div(b).map(|q| q.round_dp_with_strategy(scale, strategy)))
}

/// `a * b` for positive `a` and `b`, rounded to `scale` places with
/// `strategy`; exact on the integer mantissas when they fit in 128 bits,
/// Decimal multiplication otherwise; None beyond Decimal's range.
fn multiply(a: Decimal, b: Decimal, scale: u32, strategy: RoundingStrategy) -> Option<Decimal> {
    // a * b * 10^scale = a_m * b_m / 10^(a_s + b_s - scale)
    let exponent = i64::from(a.scale()) + i64::from(b.scale()) - i64::from(scale);
    let product = a
        .mantissa()
        .checked_abs()
        .zip(b.mantissa().checked_abs())
        .and_then(|(x, y)| x.checked_mul(y));
    let exact = product
        .and_then(|p| {
            if exponent >= 0 {
                pow10(exponent).and_then(|d| integer_quotient(p, d, strategy))
            } else {
                scaled(p, -exponent)
            }
        })
        .and_then(|q| Decimal::try_from_i128_with_scale(q, scale).ok());
    exact.or_else(|| a.checked_mul(b).map(|p| p.round_dp_with_strategy(scale, strategy)))
}

/// `|m| * 10^exponent`, if it fits.
fn scaled(m: i128, exponent: i64) -> Option<i128> {
    m.checked_abs()?.checked_mul(pow10(exponent)?)
}

fn pow10(exponent: i64) -> Option<i128> {
    10_i128.checked_pow(u32::try_from(exponent).ok()?)
}

/// `n / d` for `n >= 0`, `d > 0`, rounded down (`ToZero`) or up (any other
/// strategy; only `AwayFromZero` is used).
fn integer_quotient(n: i128, d: i128, strategy: RoundingStrategy) -> Option<i128> {
    if d <= 0 || n < 0 {
        return None;
    }
    let q = n / d;
    match strategy {
        RoundingStrategy::ToZero => Some(q),
        _ if n % d == 0 => Some(q),
        _ => q.checked_add(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use proptest::prelude::*;

    /// The smallest credit, 0.000001.
    const STEP: Decimal = Decimal::from_parts(1, 0, 0, false, CREDIT_DECIMALS);

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn cur(code: &str) -> Currency {
        Currency::parse("c", code).unwrap()
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 15, 12, 0, 0).unwrap()
    }

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    /// Lot `n` with `remaining` credits, expiring `hours` after `now()`
    /// (`None`: never).
    fn lot(n: u128, remaining: &str, hours: Option<i64>) -> Lot {
        Lot {
            id: id(n),
            remaining: d(remaining),
            expires_at: hours.map(|h| now() + Duration::hours(h)),
        }
    }

    fn takes(pairs: &[(u128, &str)]) -> Vec<(Uuid, Decimal)> {
        pairs.iter().map(|&(n, c)| (id(n), d(c))).collect()
    }

    #[test]
    fn constants() {
        assert_eq!(MAX_CREDITS, Decimal::from(1_000_000_000_000_000_i64));
        assert_eq!(MAX_CONVERSION_RATE, Decimal::from(1_000_000_000_000_i64));
        assert_eq!(STEP, d("0.000001"));
    }

    #[test]
    fn validate_conversion_rate_table() {
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("0.01", Ok("0.01")),
            ("0.0100", Ok("0.01")),
            ("1", Ok("1")),
            ("2.50", Ok("2.5")),
            ("0.000000000001", Ok("0.000000000001")),
            ("0.0000000000010", Ok("0.000000000001")),
            ("1000000000000", Ok("1000000000000")),
            ("1000000000000.000", Ok("1000000000000")),
            ("0", Err("must be greater than 0")),
            ("0.000", Err("must be greater than 0")),
            ("-0.01", Err("must be greater than 0")),
            ("0.0000000000001", Err("must have at most 12 decimal places")),
            ("1000000000000.000000000001", Err("must be at most 1000000000000")),
            ("1000000000001", Err("must be at most 1000000000000")),
        ];
        for &(value, want) in cases {
            match (validate_conversion_rate("input.conversionRate", d(value)), want) {
                (Ok(g), Ok(w)) => assert_eq!(g.to_string(), w, "{value}"),
                (Err(e), Err(w)) => assert_eq!(e, ValidationError::new("input.conversionRate", w), "{value}"),
                (got, want) => panic!("{value}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn validate_credits_table() {
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("1", Ok("1")),
            ("100.500", Ok("100.5")),
            ("0.000001", Ok("0.000001")),
            ("0.0000010", Ok("0.000001")),
            ("1000000000000000", Ok("1000000000000000")),
            ("0", Err("must be greater than 0")),
            ("-5", Err("must be greater than 0")),
            ("0.0000001", Err("must have at most 6 decimal places")),
            ("1.0000001", Err("must have at most 6 decimal places")),
            ("1000000000000000.000001", Err("must be at most 1000000000000000")),
            ("79228162514264337593543950335", Err("must be at most 1000000000000000")),
        ];
        for &(value, want) in cases {
            match (validate_credits("input.credits", d(value)), want) {
                (Ok(g), Ok(w)) => assert_eq!(g.to_string(), w, "{value}"),
                (Err(e), Err(w)) => assert_eq!(e, ValidationError::new("input.credits", w), "{value}"),
                (got, want) => panic!("{value}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn credits_to_amount_table() {
        let cases: &[(&str, &str, &str, &str)] = &[
            ("100", "0.01", "USD", "1.00"),
            ("1", "0.005", "USD", "0.01"),
            ("1", "0.004999", "USD", "0.00"),
            ("0", "0.01", "USD", "0.00"),
            ("333.333333", "0.03", "USD", "10.00"),
            ("150", "1", "JPY", "150"),
            ("1.5", "1", "JPY", "2"),
            ("1", "0.0005", "KWD", "0.001"),
            ("1", "0.0004", "KWD", "0.000"),
            // The largest valid product fits; only one place of padding
            // does (see `round_amount`).
            (
                "1000000000000000",
                "1000000000000",
                "USD",
                "1000000000000000000000000000.0",
            ),
        ];
        for &(credits, rate, code, want) in cases {
            let got = credits_to_amount(d(credits), d(rate), cur(code)).unwrap();
            assert_eq!(got.to_string(), want, "{credits} at {rate} {code}");
        }
    }

    #[test]
    fn amount_to_credits_rounds_down() {
        let cases: &[(&str, &str, &str)] = &[
            ("1", "0.01", "100"),
            ("1.00", "0.01", "100"),
            ("1", "3", "0.333333"),
            ("2", "3", "0.666666"),
            ("0.01", "0.03", "0.333333"),
            ("10", "0.000000000001", "10000000000000"),
            ("1000000000000000", "0.000000000001", "1000000000000000000000000000"),
            ("0.000001", "1000000000000", "0"),
            ("0", "1", "0"),
            ("-1", "1", "0"),
            ("1", "0", "0"),
            ("1", "-1", "0"),
            // Decimal division would round the 28-digit quotient
            // 999999000000.00000099999999999999... up to a whole 0.000001.
            ("999999000001", "1.000000000001", "999999000000"),
        ];
        for &(amount, rate, want) in cases {
            assert_eq!(
                amount_to_credits(d(amount), d(rate)).unwrap().to_string(),
                want,
                "{amount} at {rate}"
            );
        }
    }

    #[test]
    fn credits_covering_rounds_up() {
        let cases: &[(&str, &str, &str)] = &[
            ("1", "0.01", "100"),
            ("1", "3", "0.333334"),
            ("2", "3", "0.666667"),
            ("1.00", "0.03", "33.333334"),
            ("0.000001", "1000000000000", "0.000001"),
            ("0", "1", "0"),
            ("1", "0", "0"),
            ("999999000001", "1.000000000001", "999999000000.000001"),
        ];
        for &(amount, rate, want) in cases {
            assert_eq!(
                credits_covering(d(amount), d(rate)).unwrap().to_string(),
                want,
                "{amount} at {rate}"
            );
        }
    }

    #[test]
    fn conversions_fall_back_beyond_128_bits() {
        // Mantissas whose product overflows i128: the Decimal path answers,
        // and a result beyond Decimal's range is None, never saturated.
        let big = Decimal::MAX;
        let rate = d("0.999999999999");
        assert_eq!(divide(big, rate, 6, RoundingStrategy::ToZero), None);
        let small_rate = Decimal::new(1, 28);
        assert_eq!(amount_to_credits(big, small_rate), None);
        assert_eq!(worth_down(big, d("2"), cur("USD")), None);
        assert_eq!(credits_to_amount(big, d("2"), cur("USD")), None);
        assert_eq!(
            multiply(d("1.5"), d("1.5"), 2, RoundingStrategy::ToZero)
                .unwrap()
                .to_string(),
            "2.25"
        );
        assert_eq!(
            multiply(d("1.555"), d("1"), 2, RoundingStrategy::ToZero)
                .unwrap()
                .to_string(),
            "1.55"
        );
    }

    #[test]
    fn top_ups_keep_the_balance_and_its_worth_bounded() {
        let credits_cap = "would take the wallet's balance above 1000000000000000 credits";
        let worth_cap = "would make the wallet's balance worth more than 1000000000000000 USD";
        // (balance, credits, rate, expected message)
        let cases: &[(&str, &str, &str, Option<&str>)] = &[
            ("0", "1000000000000000", "1", None),
            ("999999999999999", "1", "1", None),
            ("1000000000000000", "0.000001", "1", Some(credits_cap)),
            ("1", "1000000000000000", "0.01", Some(credits_cap)),
            ("0", "1000", "1000000000000", None),
            ("0", "1000.000001", "1000000000000", Some(worth_cap)),
            ("999", "2", "1000000000000", Some(worth_cap)),
            // Rounded to cents first: a fraction below half a cent over.
            ("0", "200000000000000.000001", "5", None),
            ("0", "200000000000000.000001", "5000", Some(worth_cap)),
            ("79228162514264337593543950335", "1", "1", Some(credits_cap)),
        ];
        for &(balance, credits, rate, want) in cases {
            let got = check_top_up("input.credits", d(balance), d(credits), d(rate), cur("USD"));
            match (got, want) {
                (Ok(()), None) => {}
                (Err(e), Some(message)) => {
                    assert_eq!(e.field, "input.credits");
                    assert_eq!(e.message, message, "{balance} + {credits} at {rate}");
                }
                (got, want) => panic!("{balance} + {credits} at {rate}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn spendable_and_expired_split_at_now() {
        let lots = vec![
            lot(1, "100", Some(-1)),
            // Expiring exactly now counts as expired.
            lot(2, "50", Some(0)),
            lot(3, "25", Some(1)),
            lot(4, "10", None),
            lot(5, "0", Some(-2)),
            lot(6, "0", None),
            lot(7, "-3", Some(2)),
        ];
        assert_eq!(spendable_credits(&lots, now()).unwrap(), d("35"));
        assert_eq!(expired_lots(&lots, now()), takes(&[(1, "100"), (2, "50")]));
        assert!(!lots[1].is_spendable(now()) && lots[1].is_expired(now()));
        assert!(lots[1].is_spendable(now() - Duration::nanoseconds(1)));
        assert!(!lots[1].is_expired(now() - Duration::nanoseconds(1)));
        assert!(!lots[4].is_expired(now()) && !lots[6].is_spendable(now()));
        assert_eq!(spendable_credits(&[], now()).unwrap(), Decimal::ZERO);
        assert!(expired_lots(&[], now()).is_empty());
    }

    #[test]
    fn plan_debit_table() {
        let lots = vec![
            lot(1, "10", None),
            lot(2, "5", Some(48)),
            lot(3, "7", Some(-1)),
            lot(4, "3", Some(24)),
            lot(5, "4", Some(24)),
            lot(6, "6", Some(0)),
            lot(7, "2", None),
        ];
        // Spend order: 4 and 5 (24h, in given order), 2 (48h), then 1 and 7
        // (no expiry, in given order). 3 and 6 are expired. Spendable: 24.
        type Expected = Result<&'static [(u128, &'static str)], &'static str>;
        let cases: &[(&str, Expected)] = &[
            ("0", Ok(&[])),
            ("-1", Ok(&[])),
            ("1", Ok(&[(4, "1")])),
            ("3", Ok(&[(4, "3")])),
            ("3.5", Ok(&[(4, "3"), (5, "0.5")])),
            ("12", Ok(&[(4, "3"), (5, "4"), (2, "5")])),
            ("12.000001", Ok(&[(4, "3"), (5, "4"), (2, "5"), (1, "0.000001")])),
            ("23", Ok(&[(4, "3"), (5, "4"), (2, "5"), (1, "10"), (7, "1")])),
            // Exact balance.
            ("24", Ok(&[(4, "3"), (5, "4"), (2, "5"), (1, "10"), (7, "2")])),
            // One smallest credit short.
            ("24.000001", Err("24")),
            ("1000", Err("24")),
        ];
        for &(credits, want) in cases {
            let got = plan_debit(&lots, d(credits), now());
            let want = want.map(takes).map_err(|available| InsufficientCredits {
                available: d(available),
            });
            assert_eq!(got, want, "debit {credits}");
        }
        assert_eq!(
            plan_debit(&[], d("1"), now()),
            Err(InsufficientCredits {
                available: Decimal::ZERO
            })
        );
        assert_eq!(
            InsufficientCredits { available: d("2.5") }.to_string(),
            "insufficient credits: 2.5 available"
        );
    }

    #[test]
    fn closing_forfeits_only_what_is_spendable_and_only_when_asked() {
        let lots = vec![
            lot(1, "10", None),
            lot(2, "5", Some(-1)),
            lot(3, "0", None),
            lot(4, "2.5", Some(1)),
        ];
        // Lot 2 has expired (the expiry takes it), lot 3 is empty.
        assert_eq!(
            credits_forfeited_on_close(&lots, now(), true),
            Ok(takes(&[(1, "10"), (4, "2.5")]))
        );
        assert_eq!(
            credits_forfeited_on_close(&lots, now(), false),
            Err(CreditsLeft { credits: d("12.5") })
        );
        // Nothing spendable: closing loses nothing, forfeit or not.
        let spent = vec![lot(2, "5", Some(0)), lot(3, "0", None)];
        for forfeit in [false, true] {
            assert_eq!(credits_forfeited_on_close(&spent, now(), forfeit), Ok(vec![]));
        }
        assert_eq!(credits_forfeited_on_close(&[], now(), false), Ok(vec![]));
    }

    #[test]
    fn plan_partial_debit_table() {
        let lots = vec![lot(1, "10", None), lot(2, "5", Some(1)), lot(3, "7", Some(0))];
        let cases: &[(&str, &[(u128, &str)])] = &[
            ("0", &[]),
            ("-2", &[]),
            ("4", &[(2, "4")]),
            ("15", &[(2, "5"), (1, "10")]),
            ("15.000001", &[(2, "5"), (1, "10")]),
            ("100", &[(2, "5"), (1, "10")]),
        ];
        for &(wanted, want) in cases {
            assert_eq!(
                plan_partial_debit(&lots, d(wanted), now()),
                takes(want),
                "wanted {wanted}"
            );
        }
        assert!(plan_partial_debit(&[lot(1, "5", Some(0))], d("1"), now()).is_empty());
    }

    #[test]
    fn invoice_payment_table() {
        struct Case {
            name: &'static str,
            due: &'static str,
            code: &'static str,
            rate: &'static str,
            lots: Vec<Lot>,
            amount: &'static str,
            credits: &'static str,
            takes: &'static [(u128, &'static str)],
        }
        let cases = vec![
            Case {
                name: "exact balance",
                due: "10.00",
                code: "USD",
                rate: "0.01",
                lots: vec![lot(1, "1000", None)],
                amount: "10.00",
                credits: "1000",
                takes: &[(1, "1000")],
            },
            Case {
                name: "one smallest credit short: one minor unit less is paid",
                due: "10.00",
                code: "USD",
                rate: "0.01",
                lots: vec![lot(1, "999.999999", None)],
                amount: "9.99",
                credits: "999",
                takes: &[(1, "999")],
            },
            Case {
                name: "one minor unit short",
                due: "10.00",
                code: "USD",
                rate: "0.01",
                lots: vec![lot(1, "999", None)],
                amount: "9.99",
                credits: "999",
                takes: &[(1, "999")],
            },
            Case {
                name: "more than enough: pays the amount due only",
                due: "10.00",
                code: "USD",
                rate: "0.01",
                lots: vec![lot(1, "300", None), lot(2, "5000", Some(1))],
                amount: "10.00",
                credits: "1000",
                takes: &[(2, "1000")],
            },
            Case {
                name: "spans lots, soonest expiry first",
                due: "10.00",
                code: "USD",
                rate: "0.01",
                lots: vec![lot(1, "300", None), lot(2, "500", Some(5)), lot(3, "400", Some(1))],
                amount: "10.00",
                credits: "1000",
                takes: &[(3, "400"), (2, "500"), (1, "100")],
            },
            Case {
                name: "credits rounded up to cover the amount",
                due: "1.00",
                code: "USD",
                rate: "0.03",
                lots: vec![lot(1, "100", None)],
                amount: "1.00",
                credits: "33.333334",
                takes: &[(1, "33.333334")],
            },
            Case {
                name: "credits capped at the (unvalidated, finer) balance",
                due: "1.00",
                code: "USD",
                rate: "0.03",
                lots: vec![lot(1, "33.3333333", None)],
                amount: "0.99",
                credits: "33",
                takes: &[(1, "33")],
            },
            Case {
                name: "unrounded amount due is rounded down",
                due: "10.005",
                code: "USD",
                rate: "0.01",
                lots: vec![lot(1, "5000", None)],
                amount: "10.00",
                credits: "1000",
                takes: &[(1, "1000")],
            },
            Case {
                name: "worth below one minor unit pays nothing",
                due: "10.00",
                code: "USD",
                rate: "0.01",
                lots: vec![lot(1, "0.999999", None)],
                amount: "0.00",
                credits: "0",
                takes: &[],
            },
            Case {
                name: "JPY: whole yen only",
                due: "1000",
                code: "JPY",
                rate: "1",
                lots: vec![lot(1, "999.5", None)],
                amount: "999",
                credits: "999",
                takes: &[(1, "999")],
            },
            Case {
                name: "JPY: exact balance",
                due: "1000",
                code: "JPY",
                rate: "2",
                lots: vec![lot(1, "500", None)],
                amount: "1000",
                credits: "500",
                takes: &[(1, "500")],
            },
            Case {
                name: "JPY: rate with a repeating quotient",
                due: "10",
                code: "JPY",
                rate: "3",
                lots: vec![lot(1, "100", None)],
                amount: "10",
                credits: "3.333334",
                takes: &[(1, "3.333334")],
            },
            Case {
                name: "KWD: three decimals",
                due: "1.234",
                code: "KWD",
                rate: "0.001",
                lots: vec![lot(1, "2000", None)],
                amount: "1.234",
                credits: "1234",
                takes: &[(1, "1234")],
            },
            Case {
                name: "KWD: credit worth less than a fils",
                due: "1.000",
                code: "KWD",
                rate: "0.0003",
                lots: vec![lot(1, "10", None)],
                amount: "0.003",
                credits: "10",
                takes: &[(1, "10")],
            },
            Case {
                name: "KWD: one fils short",
                due: "1.000",
                code: "KWD",
                rate: "0.001",
                lots: vec![lot(1, "999", None)],
                amount: "0.999",
                credits: "999",
                takes: &[(1, "999")],
            },
            Case {
                name: "expiry exactly at now is expired",
                due: "10.00",
                code: "USD",
                rate: "0.01",
                lots: vec![lot(1, "1000", Some(0)), lot(2, "200", None)],
                amount: "2.00",
                credits: "200",
                takes: &[(2, "200")],
            },
            Case {
                name: "only expired credits",
                due: "10.00",
                code: "USD",
                rate: "0.01",
                lots: vec![lot(1, "1000", Some(-1))],
                amount: "0.00",
                credits: "0",
                takes: &[],
            },
            Case {
                name: "nothing due",
                due: "0.00",
                code: "USD",
                rate: "0.01",
                lots: vec![lot(1, "1000", None)],
                amount: "0.00",
                credits: "0",
                takes: &[],
            },
            Case {
                name: "negative due",
                due: "-5.00",
                code: "USD",
                rate: "0.01",
                lots: vec![lot(1, "1000", None)],
                amount: "0.00",
                credits: "0",
                takes: &[],
            },
            Case {
                name: "zero rate",
                due: "5.00",
                code: "USD",
                rate: "0",
                lots: vec![lot(1, "1000", None)],
                amount: "0.00",
                credits: "0",
                takes: &[],
            },
        ];
        for case in cases {
            let got = invoice_payment(d(case.due), cur(case.code), d(case.rate), &case.lots, now());
            assert_eq!(got.amount.to_string(), case.amount, "{}", case.name);
            assert_eq!(got.credits.to_string(), case.credits, "{}", case.name);
            assert_eq!(got.takes, takes(case.takes), "{}", case.name);
        }
    }

    /// A non-negative Decimal from a mantissa up to `max` and a scale up to `max_scale`.
    fn decimal(max: i64, max_scale: u32) -> impl Strategy<Value = Decimal> {
        (0..=max, 0..=max_scale).prop_map(|(m, s)| Decimal::new(m, s))
    }

    /// A valid-looking rate: 0.00000001 to 10^7.
    fn rate() -> impl Strategy<Value = Decimal> {
        (1..=10_000_000_i64, 0..=8_u32).prop_map(|(m, s)| Decimal::new(m, s))
    }

    fn currency() -> impl Strategy<Value = Currency> {
        prop::sample::select(vec!["USD", "JPY", "KWD", "CLF"]).prop_map(cur)
    }

    /// Up to 6 lots with ids 1..; expiries an hour apart around `now()`,
    /// `Some(0)` expiring exactly at it. Some lots are empty, some expired,
    /// several share an expiry.
    fn lots() -> impl Strategy<Value = Vec<Lot>> {
        prop::collection::vec((decimal(10_000_000_000, 6), prop::option::of(-2_i64..=3)), 0..=6).prop_map(|rows| {
            rows.into_iter()
                .enumerate()
                .map(|(i, (remaining, hours))| Lot {
                    id: Uuid::from_u128(i as u128 + 1),
                    remaining,
                    expires_at: hours.map(|h| now() + Duration::hours(h)),
                })
                .collect()
        })
    }

    fn lot_by_id(lots: &[Lot], lot_id: Uuid) -> &Lot {
        lots.iter().find(|l| l.id == lot_id).unwrap()
    }

    /// Spend-order key: never-expiring lots after all others.
    fn key(lot: &Lot) -> (bool, Option<DateTime<Utc>>) {
        (lot.expires_at.is_none(), lot.expires_at)
    }

    /// Takes well formed: positive, from spendable lots only, each lot at
    /// most once and never below zero, and soonest expiry first: a lot is
    /// only touched once every spendable lot expiring strictly sooner, or
    /// as soon but given earlier, is drained.
    fn check_takes(lots: &[Lot], takes: &[(Uuid, Decimal)]) -> Result<(), TestCaseError> {
        let now = now();
        for (n, (lot_id, taken)) in takes.iter().enumerate() {
            let lot = lot_by_id(lots, *lot_id);
            prop_assert!(lot.is_spendable(now), "took from unspendable {:?}", lot);
            prop_assert!(
                *taken > Decimal::ZERO && *taken <= lot.remaining,
                "{} from {:?}",
                taken,
                lot
            );
            prop_assert!(takes[..n].iter().all(|(other, _)| other != lot_id), "lot taken twice");
            let position = lots.iter().position(|l| l.id == *lot_id).unwrap();
            for (i, earlier) in lots.iter().enumerate() {
                let first = key(earlier) < key(lot) || (key(earlier) == key(lot) && i < position);
                if earlier.is_spendable(now) && first {
                    let drained = takes.iter().any(|(t, c)| *t == earlier.id && *c == earlier.remaining);
                    prop_assert!(drained, "{:?} touched before {:?} was drained", lot, earlier);
                }
            }
        }
        Ok(())
    }

    fn sum(takes: &[(Uuid, Decimal)]) -> Decimal {
        takes.iter().map(|(_, c)| *c).sum()
    }

    proptest! {
        #[test]
        fn plan_debit_takes_exactly_or_refuses(lots in lots(), credits in decimal(30_000_000_000, 6)) {
            let spendable = spendable_credits(&lots, now()).unwrap();
            match plan_debit(&lots, credits, now()) {
                Ok(takes) => {
                    prop_assert!(credits <= spendable);
                    prop_assert_eq!(sum(&takes), credits);
                    check_takes(&lots, &takes)?;
                }
                Err(InsufficientCredits { available }) => {
                    prop_assert!(credits > spendable);
                    prop_assert_eq!(available, spendable);
                }
            }
        }

        #[test]
        fn plan_partial_debit_takes_what_it_can(lots in lots(), wanted in decimal(30_000_000_000, 6)) {
            let takes = plan_partial_debit(&lots, wanted, now());
            prop_assert_eq!(sum(&takes), wanted.min(spendable_credits(&lots, now()).unwrap()));
            check_takes(&lots, &takes)?;
        }

        // Every credit is either spendable or removed by the expiry, never both.
        #[test]
        fn expiry_and_spending_partition_the_lots(lots in lots()) {
            let expired = expired_lots(&lots, now());
            let all: Decimal = lots.iter().map(|l| l.remaining.max(Decimal::ZERO)).sum();
            prop_assert_eq!(sum(&expired) + spendable_credits(&lots, now()).unwrap(), all);
            for (lot_id, credits) in &expired {
                let lot = lot_by_id(&lots, *lot_id);
                prop_assert!(lot.expires_at.is_some_and(|at| at <= now()));
                prop_assert_eq!(*credits, lot.remaining);
                prop_assert!(*credits > Decimal::ZERO);
            }
            let spent = plan_partial_debit(&lots, Decimal::MAX, now());
            prop_assert!(spent.iter().all(|(s, _)| expired.iter().all(|(e, _)| e != s)));
        }

        #[test]
        fn invoice_payment_rules(
            lots in lots(),
            rate in rate(),
            currency in currency(),
            due_units in 0_i64..=1_000_000_000,
            extra_scale in 0_u32..=2,
        ) {
            let minor = currency.minor_units();
            // Sometimes finer than the currency, to exercise the rounding down.
            let amount_due = Decimal::new(due_units, minor + extra_scale);
            let spendable = spendable_credits(&lots, now()).unwrap();
            let paid = invoice_payment(amount_due, currency, rate, &lots, now());

            // A whole number of minor units.
            prop_assert_eq!(paid.amount.scale(), minor);
            prop_assert_eq!(round_amount(paid.amount, currency), paid.amount);
            // Never more than is due, nor than the credits are worth.
            prop_assert!(paid.amount >= Decimal::ZERO && paid.amount <= amount_due);
            prop_assert!(paid.amount <= spendable * rate);
            // The largest such amount.
            let worth = (spendable * rate).round_dp_with_strategy(minor, RoundingStrategy::ToZero);
            let due = amount_due.round_dp_with_strategy(minor, RoundingStrategy::ToZero);
            prop_assert_eq!(paid.amount, worth.min(due));
            // Credits cover the amount, are the fewest that do, and exist.
            prop_assert!(paid.credits <= spendable);
            prop_assert!(paid.credits * rate >= paid.amount);
            prop_assert!(paid.credits.is_zero() || (paid.credits - STEP) * rate < paid.amount);
            prop_assert!(paid.credits.scale() <= CREDIT_DECIMALS);
            prop_assert_eq!(paid.credits.is_zero(), paid.amount.is_zero());
            // Taken like any debit.
            prop_assert_eq!(sum(&paid.takes), paid.credits);
            check_takes(&lots, &paid.takes)?;
        }

        #[test]
        fn amount_to_credits_never_buys_more_than_paid(amount in decimal(1_000_000_000_000, 4), rate in rate()) {
            let credits = amount_to_credits(amount, rate).unwrap();
            prop_assert!(credits.scale() <= CREDIT_DECIMALS);
            prop_assert!(credits * rate <= amount);
            prop_assert!((credits + STEP) * rate > amount);
            let covering = credits_covering(amount, rate).unwrap();
            prop_assert!(covering * rate >= amount);
            prop_assert!(covering.is_zero() || (covering - STEP) * rate < amount);
            prop_assert!(covering == credits || covering == credits + STEP);
        }

        // Displayed worth is within half a minor unit of the exact worth.
        #[test]
        fn credits_to_amount_is_rounded_worth(credits in decimal(10_000_000_000, 6), rate in rate(), currency in currency()) {
            let shown = credits_to_amount(credits, rate, currency).unwrap();
            prop_assert_eq!(shown.scale(), currency.minor_units());
            let half = Decimal::new(5, currency.minor_units() + 1);
            prop_assert!((shown - credits * rate).abs() <= half);
        }
    }
}
