//! Invoice arithmetic and the rules for paying one: totals, payment status,
//! which payments an invoice accepts, and when it falls due.
//!
//! Every amount here is a whole number of the currency's minor units: the
//! lines arrive rounded by `pricing`, and everything derived from them is
//! rounded with `money::round_amount` (a no-op on amounts already rounded),
//! so the figures on an invoice always add up to the cent.
//!
//! An invoice never asks for a negative amount: a negative total would be a
//! payout, which is a refund, not an invoice. The negative part of a
//! subtotal goes to the customer's credit balance instead (`credit_balance`).

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;

use super::money::{self, AmountOverflow, Currency, round_amount};
use super::stored::stored_enum;

stored_enum! {
    pub enum InvoiceStatus {
        /// Still being built: lines may change, nothing can be paid.
        Draft = "DRAFT",
        /// Issued to the customer: lines are frozen and payments are accepted.
        Finalized = "FINALIZED",
        /// Cancelled after finalization; kept for the audit trail, never paid.
        Voided = "VOIDED",
    }
}

stored_enum! {
    /// Where an invoice stands with payment, derived from its status and
    /// amounts by [`payment_status`]. The invoices table keeps the same
    /// derivation as a generated column (so lists can filter on it through
    /// an index); the two must agree.
    pub enum PaymentStatus {
        /// Nothing paid yet (or the invoice is still a draft).
        Pending = "PENDING",
        /// Some, but not all, of the total has been paid.
        PartiallyPaid = "PARTIALLY_PAID",
        /// Nothing is left to pay.
        Paid = "PAID",
        /// The invoice was voided; nothing is owed.
        Void = "VOID",
    }
}

stored_enum! {
    /// How a payment reached the tenant.
    pub enum PaymentMethod {
        Card = "CARD",
        BankTransfer = "BANK_TRANSFER",
        Offline = "OFFLINE",
        Other = "OTHER",
    }
}

/// Every (status, payment status) pair an invoice can be in: a draft is
/// pending, a voided invoice void, and a finalized one pending, partly or
/// wholly paid. Lists read one index range per pair.
pub const STATUS_PAIRS: [(InvoiceStatus, PaymentStatus); 5] = [
    (InvoiceStatus::Draft, PaymentStatus::Pending),
    (InvoiceStatus::Finalized, PaymentStatus::Pending),
    (InvoiceStatus::Finalized, PaymentStatus::PartiallyPaid),
    (InvoiceStatus::Finalized, PaymentStatus::Paid),
    (InvoiceStatus::Voided, PaymentStatus::Void),
];

/// Whether an invoice in this pair still asks for money: finalized, with
/// an amount due above zero. Only such an invoice can be overdue.
pub fn is_open(status: InvoiceStatus, payment: PaymentStatus) -> bool {
    status == InvoiceStatus::Finalized && matches!(payment, PaymentStatus::Pending | PaymentStatus::PartiallyPaid)
}

/// Whether an invoice is overdue at `now`: finalized, an amount still due,
/// and its due date passed. The tenant list's `overdue` filter is the same
/// rule in SQL, on the open (status, payment status) pairs.
pub fn is_overdue(
    status: InvoiceStatus,
    total: Decimal,
    settled: Decimal,
    due_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> bool {
    status == InvoiceStatus::Finalized && total > settled && due_at.is_some_and(|due| due < now)
}

/// The instant an invoice is dated and listed by: when it was issued, or
/// for a draft (and a draft voided before issue) when it was created. The
/// invoices table keeps the same value as a generated column.
pub fn invoice_date(issued_at: Option<DateTime<Utc>>, created_at: DateTime<Utc>) -> DateTime<Utc> {
    issued_at.unwrap_or(created_at)
}

/// The number printed on an invoice: `INV-000042`.
///
/// Zero padded to six digits so numbers sort as text in the first million
/// invoices (what spreadsheets and file names do); longer numbers are
/// printed in full, never truncated, so two invoices never share a number.
/// Sequences start at 1; a negative `seq` (never produced by one) still
/// gets a distinct number, `INV--00042`.
pub fn format_invoice_number(seq: i64) -> String {
    format!("INV-{seq:06}")
}

/// The figures at the foot of an invoice, each a whole number of minor units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceTotals {
    /// Sum of the lines.
    pub subtotal: Decimal,
    /// Prepaid credit taken off the subtotal (the customer's credit balance
    /// and wallet credits together): never negative, never above it.
    pub credits_applied: Decimal,
    /// `subtotal - credits_applied`, never below zero.
    pub total: Decimal,
    /// Payments received so far.
    pub amount_paid: Decimal,
    /// `total - amount_paid`, never below zero.
    pub amount_due: Decimal,
}

/// Works out an invoice's totals.
///
/// The lines are already rounded amounts, but their sum is rounded once
/// more, defensively, so an unrounded line cannot leak fractions of a cent
/// into the total. A sum beyond Decimal's range is refused, never saturated
/// (lines are at most `money::MAX_AMOUNT` each, so only corrupt data gets there).
///
/// Credits are clamped to `[0, subtotal]`: credits reduce what is owed, and
/// a credit larger than the invoice must not turn it into a payout (the
/// caller applies only what is returned in `credits_applied`; the rest stays
/// with the customer). A negative subtotal (credit lines outweighing charges)
/// therefore gives a total of 0 with no credits applied.
///
/// A negative `amount_paid` is treated as 0; an `amount_paid` above the
/// total is reported as is (it is what was received) and leaves 0 due.
pub fn totals(
    line_amounts: &[Decimal],
    credits_applied: Decimal,
    amount_paid: Decimal,
    currency: Currency,
) -> Result<InvoiceTotals, AmountOverflow> {
    let sum = money::checked_sum(line_amounts.iter().copied()).ok_or(AmountOverflow {
        what: "the invoice subtotal",
        currency,
    })?;
    let subtotal = round_amount(sum, currency);
    Ok(totals_of_charge(
        subtotal,
        subtotal,
        credits_applied,
        amount_paid,
        currency,
    ))
}

/// Works out an invoice's totals when discounts and taxes made what it
/// charges (`charged`: subtotal - discounts + exclusive taxes) differ from
/// its `subtotal`. Credits and payments are clamped as in [`totals`], with
/// `charged` in the subtotal's place.
pub fn totals_of_charge(
    subtotal: Decimal,
    charged: Decimal,
    credits_applied: Decimal,
    amount_paid: Decimal,
    currency: Currency,
) -> InvoiceTotals {
    let ceiling = round_amount(charged, currency).max(Decimal::ZERO);
    let credits_applied = round_amount(
        round_amount(credits_applied, currency).clamp(Decimal::ZERO, ceiling),
        currency,
    );
    // Both operands are non-negative, so neither subtraction can overflow.
    let total = round_amount(ceiling - credits_applied, currency);
    let amount_paid = round_amount(round_amount(amount_paid, currency).max(Decimal::ZERO), currency);
    let amount_due = round_amount((total - amount_paid).max(Decimal::ZERO), currency);
    InvoiceTotals {
        subtotal: round_amount(subtotal, currency),
        credits_applied,
        total,
        amount_paid,
        amount_due,
    }
}

/// Where an invoice stands with payment.
///
/// `settled` is what no longer has to be paid: payments received plus what
/// credit notes cancelled of the amount due. Only a finalized invoice can
/// be paid, so a draft is always `Pending` whatever has been recorded
/// against it. A finalized invoice with nothing left to pay (a total of 0,
/// e.g. fully covered by credits, or fully credited) is `Paid`: there is
/// nothing left to chase. Partly paid means money was received; a partial
/// credit note alone leaves an invoice `Pending`.
pub fn payment_status(status: InvoiceStatus, total: Decimal, amount_paid: Decimal, settled: Decimal) -> PaymentStatus {
    match status {
        InvoiceStatus::Voided => PaymentStatus::Void,
        InvoiceStatus::Draft => PaymentStatus::Pending,
        InvoiceStatus::Finalized if settled >= total => PaymentStatus::Paid,
        InvoiceStatus::Finalized if amount_paid > Decimal::ZERO => PaymentStatus::PartiallyPaid,
        InvoiceStatus::Finalized => PaymentStatus::Pending,
    }
}

/// What a finalized invoice still asks for: its total less payments and
/// what credit notes cancelled, never below zero.
pub fn amount_due(total: Decimal, amount_paid: Decimal, amount_credited: Decimal) -> Decimal {
    (total - amount_paid - amount_credited).max(Decimal::ZERO)
}

/// Why a payment was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentRefusal {
    /// Zero or negative: a refund is not a payment.
    NotPositive,
    /// Finer than the currency's smallest coin (0.001 USD, 0.5 JPY).
    TooManyDecimals { currency: Currency },
    /// The invoice is a draft; its total can still change.
    NotFinalized,
    /// The invoice was voided; nothing is owed.
    Voided,
    /// More than is left to pay; taking it would leave money to hand back.
    Overpayment { amount_due: Decimal },
    /// Nothing is left to pay.
    AlreadyPaid,
}

impl PaymentRefusal {
    /// Text for the client. Refusals about the amount read as a rule on
    /// the amount field; the others describe the invoice.
    pub fn message(&self) -> String {
        match self {
            PaymentRefusal::NotPositive => "must be greater than 0".to_owned(),
            PaymentRefusal::TooManyDecimals { currency } if currency.minor_units() == 0 => {
                format!("must be a whole number of {currency}")
            }
            PaymentRefusal::TooManyDecimals { currency } => {
                format!(
                    "must have at most {} decimal places in {currency}",
                    currency.minor_units()
                )
            }
            PaymentRefusal::NotFinalized => "invoice is a draft; finalize it before recording a payment".to_owned(),
            PaymentRefusal::Voided => "invoice is voided and cannot be paid".to_owned(),
            PaymentRefusal::Overpayment { amount_due } => format!("must be at most the amount due ({amount_due})"),
            PaymentRefusal::AlreadyPaid => "invoice is already paid in full".to_owned(),
        }
    }

    /// True when the refusal is about the invoice's state (a CONFLICT
    /// error), false when the amount itself is wrong (a VALIDATION error).
    /// An overpayment counts as a wrong amount: the client can fix it by
    /// sending a smaller one, and the message names the limit.
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            PaymentRefusal::NotFinalized | PaymentRefusal::Voided | PaymentRefusal::AlreadyPaid
        )
    }
}

impl std::fmt::Display for PaymentRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for PaymentRefusal {}

/// Checks a payment against an invoice and returns the amount padded to the
/// currency's minor units (10 USD -> 10.00), the form it is stored in.
///
/// The amount is checked on its own first (positive, no finer than the
/// smallest coin), then against the invoice (finalized, not voided, not
/// already paid, no more than what is due), so a malformed amount is
/// reported the same way whatever state the invoice is in. Amounts are
/// never rounded here: 10.005 USD is refused rather than silently booked as
/// 10.01, because the payer's records would then disagree with ours.
pub fn check_payment(
    status: InvoiceStatus,
    amount: Decimal,
    amount_due: Decimal,
    currency: Currency,
) -> Result<Decimal, PaymentRefusal> {
    if amount <= Decimal::ZERO {
        return Err(PaymentRefusal::NotPositive);
    }
    if amount.normalize().scale() > currency.minor_units() {
        return Err(PaymentRefusal::TooManyDecimals { currency });
    }
    match status {
        InvoiceStatus::Draft => return Err(PaymentRefusal::NotFinalized),
        InvoiceStatus::Voided => return Err(PaymentRefusal::Voided),
        InvoiceStatus::Finalized => {}
    }
    if amount_due <= Decimal::ZERO {
        return Err(PaymentRefusal::AlreadyPaid);
    }
    if amount > amount_due {
        return Err(PaymentRefusal::Overpayment {
            amount_due: round_amount(amount_due, currency),
        });
    }
    // The scale check above makes this padding only, never rounding.
    Ok(round_amount(amount, currency))
}

/// When an invoice issued at `issued_at` on net `net_terms_days` terms falls
/// due: that many calendar days later, in UTC (every UTC day is 24 hours,
/// so this is also an exact duration). Saturates at the end of
/// representable time instead of panicking.
pub fn due_at(issued_at: DateTime<Utc>, net_terms_days: u32) -> DateTime<Utc> {
    Duration::try_days(i64::from(net_terms_days))
        .and_then(|delta| issued_at.checked_add_signed(delta))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn cur(code: &str) -> Currency {
        Currency::parse("c", code).unwrap()
    }

    fn ds(values: &[&str]) -> Vec<Decimal> {
        values.iter().map(|v| d(v)).collect()
    }

    #[test]
    fn invoice_status_round_trips() {
        let cases = [
            (InvoiceStatus::Draft, "DRAFT"),
            (InvoiceStatus::Finalized, "FINALIZED"),
            (InvoiceStatus::Voided, "VOIDED"),
        ];
        for (status, text) in cases {
            assert_eq!(status.as_str(), text);
            assert_eq!(InvoiceStatus::parse(text), Some(status));
        }
        assert_eq!(cases.len(), InvoiceStatus::ALL.len());
        for bad in ["", "draft", "Draft", " DRAFT", "VOID", "PAID"] {
            assert_eq!(InvoiceStatus::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn payment_status_round_trips() {
        let cases = [
            (PaymentStatus::Pending, "PENDING"),
            (PaymentStatus::PartiallyPaid, "PARTIALLY_PAID"),
            (PaymentStatus::Paid, "PAID"),
            (PaymentStatus::Void, "VOID"),
        ];
        for (status, text) in cases {
            assert_eq!(status.as_str(), text);
            assert_eq!(PaymentStatus::parse(text), Some(status));
        }
        assert_eq!(cases.len(), PaymentStatus::ALL.len());
        for bad in ["", "paid", "PARTIALLYPAID", "PARTIALLY PAID", "VOIDED", "PAID "] {
            assert_eq!(PaymentStatus::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn every_reachable_payment_status_is_one_of_the_listed_pairs() {
        let amounts = ["0", "0.01", "5", "10", "12"];
        for status in InvoiceStatus::ALL {
            for total in amounts {
                for paid in amounts {
                    let payment = payment_status(*status, d(total), d(paid), d(paid));
                    assert!(
                        STATUS_PAIRS.contains(&(*status, payment)),
                        "{status} {total} {paid}: {payment}"
                    );
                    // Open exactly when something is still asked for.
                    let asks = *status == InvoiceStatus::Finalized && d(total) > d(paid);
                    assert_eq!(is_open(*status, payment), asks, "{status} {total} {paid}");
                }
            }
        }
    }

    #[test]
    fn overdue_needs_a_finalized_invoice_with_money_due_past_its_date() {
        let now = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
        let past = Some(now - Duration::seconds(1));
        let (ten, zero) = (d("10"), d("0"));
        assert!(is_overdue(InvoiceStatus::Finalized, ten, d("9.99"), past, now));
        assert!(!is_overdue(InvoiceStatus::Finalized, ten, ten, past, now), "paid");
        assert!(
            !is_overdue(InvoiceStatus::Finalized, zero, zero, past, now),
            "nothing to pay"
        );
        assert!(
            !is_overdue(InvoiceStatus::Finalized, ten, zero, Some(now), now),
            "due this instant"
        );
        assert!(!is_overdue(InvoiceStatus::Finalized, ten, zero, None, now));
        assert!(!is_overdue(InvoiceStatus::Draft, ten, zero, past, now));
        assert!(!is_overdue(InvoiceStatus::Voided, ten, zero, past, now));
    }

    #[test]
    fn invoice_number_table() {
        let cases: &[(i64, &str)] = &[
            (0, "INV-000000"),
            (1, "INV-000001"),
            (42, "INV-000042"),
            (999_999, "INV-999999"),
            (1_000_000, "INV-1000000"),
            (123_456_789, "INV-123456789"),
            (i64::MAX, "INV-9223372036854775807"),
            (-42, "INV--00042"),
        ];
        for &(seq, want) in cases {
            assert_eq!(format_invoice_number(seq), want, "{seq}");
        }
    }

    #[test]
    fn totals_table() {
        // (lines, credits, paid, currency, [subtotal, credits, total, paid, due])
        type Case = (
            &'static [&'static str],
            &'static str,
            &'static str,
            &'static str,
            [&'static str; 5],
        );
        let cases: &[Case] = &[
            (&[], "0", "0", "USD", ["0.00", "0.00", "0.00", "0.00", "0.00"]),
            (
                &["10.00", "5.50"],
                "0",
                "0",
                "USD",
                ["15.50", "0.00", "15.50", "0.00", "15.50"],
            ),
            (
                &["10.00", "5.50"],
                "5",
                "0",
                "USD",
                ["15.50", "5.00", "10.50", "0.00", "10.50"],
            ),
            (
                &["10.00", "5.50"],
                "5",
                "10.50",
                "USD",
                ["15.50", "5.00", "10.50", "10.50", "0.00"],
            ),
            (
                &["10.00", "5.50"],
                "5",
                "4",
                "USD",
                ["15.50", "5.00", "10.50", "4.00", "6.50"],
            ),
            // Credits never exceed the subtotal.
            (&["10.00"], "25", "0", "USD", ["10.00", "10.00", "0.00", "0.00", "0.00"]),
            (
                &["10.00"],
                "10.00",
                "0",
                "USD",
                ["10.00", "10.00", "0.00", "0.00", "0.00"],
            ),
            (
                &["10.00"],
                "-3",
                "0",
                "USD",
                ["10.00", "0.00", "10.00", "0.00", "10.00"],
            ),
            // Overpaid: nothing due, the payment is reported as received.
            (
                &["10.00"],
                "0",
                "12",
                "USD",
                ["10.00", "0.00", "10.00", "12.00", "0.00"],
            ),
            (
                &["10.00"],
                "0",
                "-1",
                "USD",
                ["10.00", "0.00", "10.00", "0.00", "10.00"],
            ),
            // One minor unit short.
            (
                &["10.00"],
                "0",
                "9.99",
                "USD",
                ["10.00", "0.00", "10.00", "9.99", "0.01"],
            ),
            // A credit line that outweighs the charges: nothing is owed.
            (
                &["5.00", "-8.00"],
                "2",
                "0",
                "USD",
                ["-3.00", "0.00", "0.00", "0.00", "0.00"],
            ),
            (
                &["5.00", "-2.00"],
                "0",
                "0",
                "USD",
                ["3.00", "0.00", "3.00", "0.00", "3.00"],
            ),
            // Unrounded lines are rounded once, as a sum.
            (
                &["0.004", "0.004"],
                "0",
                "0",
                "USD",
                ["0.01", "0.00", "0.01", "0.00", "0.01"],
            ),
            (
                &["0.333", "0.333", "0.333"],
                "0",
                "0",
                "USD",
                ["1.00", "0.00", "1.00", "0.00", "1.00"],
            ),
            (
                &["0.004"],
                "0.004",
                "0",
                "USD",
                ["0.00", "0.00", "0.00", "0.00", "0.00"],
            ),
            // Zero-decimal and three-decimal currencies.
            (
                &["1000", "250"],
                "300",
                "500",
                "JPY",
                ["1250", "300", "950", "500", "450"],
            ),
            (&["100.5"], "0", "0", "JPY", ["101", "0", "101", "0", "101"]),
            (
                &["1.250", "0.005"],
                "0.1",
                "1",
                "KWD",
                ["1.255", "0.100", "1.155", "1.000", "0.155"],
            ),
            // Fifty lines of the largest charge: exact to the minor unit.
            (
                &["1000000000000000.00"; 50],
                "0.01",
                "0",
                "USD",
                [
                    "50000000000000000.00",
                    "0.01",
                    "49999999999999999.99",
                    "0.00",
                    "49999999999999999.99",
                ],
            ),
        ];
        for (lines, credits, paid, code, want) in cases {
            let got = totals(&ds(lines), d(credits), d(paid), cur(code)).unwrap();
            let got_text = [
                got.subtotal.to_string(),
                got.credits_applied.to_string(),
                got.total.to_string(),
                got.amount_paid.to_string(),
                got.amount_due.to_string(),
            ];
            assert_eq!(
                got_text,
                want.map(str::to_owned),
                "{lines:?} credits {credits} paid {paid} {code}"
            );
        }
    }

    #[test]
    fn totals_beyond_decimal_range_are_refused() {
        let lines = ds(&["79228162514264337593543950335", "79228162514264337593543950335"]);
        let err = totals(&lines, Decimal::ZERO, Decimal::ZERO, cur("JPY")).unwrap_err();
        assert_eq!(err.what, "the invoice subtotal");
    }

    #[test]
    fn payment_status_table() {
        use InvoiceStatus::*;
        let cases: &[(InvoiceStatus, &str, &str, PaymentStatus)] = &[
            (Draft, "10", "0", PaymentStatus::Pending),
            (Draft, "10", "10", PaymentStatus::Pending),
            (Draft, "0", "0", PaymentStatus::Pending),
            (Voided, "10", "0", PaymentStatus::Void),
            (Voided, "10", "10", PaymentStatus::Void),
            (Voided, "0", "0", PaymentStatus::Void),
            (Finalized, "10.00", "0.00", PaymentStatus::Pending),
            (Finalized, "10.00", "0.01", PaymentStatus::PartiallyPaid),
            (Finalized, "10.00", "9.99", PaymentStatus::PartiallyPaid),
            (Finalized, "10.00", "10.00", PaymentStatus::Paid),
            (Finalized, "10.00", "10", PaymentStatus::Paid),
            (Finalized, "10.00", "11.00", PaymentStatus::Paid),
            (Finalized, "0.00", "0.00", PaymentStatus::Paid),
        ];
        for &(status, total, paid, want) in cases {
            assert_eq!(
                payment_status(status, d(total), d(paid), d(paid)),
                want,
                "{status:?} {total} {paid}"
            );
        }
        // Credit notes settle without payment: (total, paid, paid + credited).
        let credited: &[(&str, &str, &str, PaymentStatus)] = &[
            ("10.00", "0.00", "4.00", PaymentStatus::Pending),
            ("10.00", "0.00", "10.00", PaymentStatus::Paid),
            ("10.00", "3.00", "7.00", PaymentStatus::PartiallyPaid),
            ("10.00", "3.00", "10.00", PaymentStatus::Paid),
        ];
        for &(total, paid, settled, want) in credited {
            assert_eq!(
                payment_status(Finalized, d(total), d(paid), d(settled)),
                want,
                "{total} {paid} {settled}"
            );
        }
    }

    #[test]
    fn amount_due_table() {
        // (total, paid, credited, due)
        let cases: &[(&str, &str, &str, &str)] = &[
            ("10.00", "0.00", "0.00", "10.00"),
            ("10.00", "4.00", "0.00", "6.00"),
            // 10.00 - 4.00 paid - 3.00 credited = 3.00
            ("10.00", "4.00", "3.00", "3.00"),
            ("10.00", "4.00", "6.00", "0.00"),
            ("10.00", "0.00", "12.00", "0.00"),
        ];
        for &(total, paid, credited, due) in cases {
            assert_eq!(
                amount_due(d(total), d(paid), d(credited)),
                d(due),
                "{total} {paid} {credited}"
            );
        }
    }

    #[test]
    fn check_payment_table() {
        use InvoiceStatus::*;
        use PaymentRefusal as R;
        let usd = cur("USD");
        // (status, amount, amount due, currency, accepted amount or refusal)
        type Case = (
            InvoiceStatus,
            &'static str,
            &'static str,
            &'static str,
            Result<&'static str, R>,
        );
        let cases: &[Case] = &[
            (Finalized, "10", "10.00", "USD", Ok("10.00")),
            (Finalized, "10.00", "10.00", "USD", Ok("10.00")),
            (Finalized, "0.01", "10.00", "USD", Ok("0.01")),
            (Finalized, "9.99", "10.00", "USD", Ok("9.99")),
            (Finalized, "1.5", "10.00", "USD", Ok("1.50")),
            (Finalized, "1.5000", "10.00", "USD", Ok("1.50")),
            (
                Finalized,
                "10.01",
                "10.00",
                "USD",
                Err(R::Overpayment { amount_due: d("10.00") }),
            ),
            (Finalized, "0", "10.00", "USD", Err(R::NotPositive)),
            (Finalized, "-1", "10.00", "USD", Err(R::NotPositive)),
            (
                Finalized,
                "0.001",
                "10.00",
                "USD",
                Err(R::TooManyDecimals { currency: usd }),
            ),
            (Finalized, "5", "0.00", "USD", Err(R::AlreadyPaid)),
            (Finalized, "5", "-1", "USD", Err(R::AlreadyPaid)),
            (Draft, "5", "10.00", "USD", Err(R::NotFinalized)),
            (Voided, "5", "10.00", "USD", Err(R::Voided)),
            // The amount is checked before the invoice.
            (Voided, "0", "10.00", "USD", Err(R::NotPositive)),
            (
                Draft,
                "0.001",
                "10.00",
                "USD",
                Err(R::TooManyDecimals { currency: usd }),
            ),
            // The invoice's state before the amount due.
            (Voided, "5", "0", "USD", Err(R::Voided)),
            (Finalized, "100", "100", "JPY", Ok("100")),
            (Finalized, "100.0", "100", "JPY", Ok("100")),
            (
                Finalized,
                "99.5",
                "100",
                "JPY",
                Err(R::TooManyDecimals { currency: cur("JPY") }),
            ),
            (
                Finalized,
                "101",
                "100",
                "JPY",
                Err(R::Overpayment { amount_due: d("100") }),
            ),
            (Finalized, "1.005", "2.000", "KWD", Ok("1.005")),
            (
                Finalized,
                "1.0005",
                "2.000",
                "KWD",
                Err(R::TooManyDecimals { currency: cur("KWD") }),
            ),
            (
                Finalized,
                "2.001",
                "2.000",
                "KWD",
                Err(R::Overpayment { amount_due: d("2.000") }),
            ),
        ];
        for (status, amount, due, code, want) in cases {
            let got = check_payment(*status, d(amount), d(due), cur(code));
            match (got, want) {
                (Ok(g), Ok(w)) => assert_eq!(g.to_string(), *w, "{status:?} {amount} of {due} {code}"),
                (Err(g), Err(w)) => assert_eq!(g, *w, "{status:?} {amount} of {due} {code}"),
                (got, want) => panic!("{status:?} {amount} of {due} {code}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn refusal_messages_and_kinds() {
        let cases: &[(PaymentRefusal, &str, bool)] = &[
            (PaymentRefusal::NotPositive, "must be greater than 0", false),
            (
                PaymentRefusal::TooManyDecimals { currency: cur("USD") },
                "must have at most 2 decimal places in USD",
                false,
            ),
            (
                PaymentRefusal::TooManyDecimals { currency: cur("JPY") },
                "must be a whole number of JPY",
                false,
            ),
            (
                PaymentRefusal::NotFinalized,
                "invoice is a draft; finalize it before recording a payment",
                true,
            ),
            (PaymentRefusal::Voided, "invoice is voided and cannot be paid", true),
            (
                PaymentRefusal::Overpayment { amount_due: d("12.50") },
                "must be at most the amount due (12.50)",
                false,
            ),
            (PaymentRefusal::AlreadyPaid, "invoice is already paid in full", true),
        ];
        for (refusal, message, conflict) in cases {
            assert_eq!(refusal.message(), *message);
            assert_eq!(refusal.to_string(), *message);
            assert_eq!(refusal.is_conflict(), *conflict, "{refusal:?}");
        }
    }

    #[test]
    fn due_at_table() {
        let issued = Utc.with_ymd_and_hms(2026, 1, 31, 15, 30, 0).unwrap();
        let cases: &[(u32, DateTime<Utc>)] = &[
            (0, issued),
            (1, Utc.with_ymd_and_hms(2026, 2, 1, 15, 30, 0).unwrap()),
            (30, Utc.with_ymd_and_hms(2026, 3, 2, 15, 30, 0).unwrap()),
            (365, Utc.with_ymd_and_hms(2027, 1, 31, 15, 30, 0).unwrap()),
            (u32::MAX, DateTime::<Utc>::MAX_UTC),
        ];
        for &(days, want) in cases {
            assert_eq!(due_at(issued, days), want, "net {days}");
        }
        // Leap day counts as a day.
        let feb = Utc.with_ymd_and_hms(2028, 2, 28, 0, 0, 0).unwrap();
        assert_eq!(due_at(feb, 2), Utc.with_ymd_and_hms(2028, 3, 1, 0, 0, 0).unwrap());
        assert_eq!(due_at(DateTime::<Utc>::MAX_UTC, 1), DateTime::<Utc>::MAX_UTC);
    }

    /// A Decimal from a mantissa and a scale.
    fn decimal(min: i64, max: i64, max_scale: u32) -> impl Strategy<Value = Decimal> {
        (min..=max, 0..=max_scale).prop_map(|(m, s)| Decimal::new(m, s))
    }

    fn currency() -> impl Strategy<Value = Currency> {
        prop::sample::select(vec!["USD", "JPY", "KWD", "CLF"]).prop_map(cur)
    }

    /// A whole number of minor units, at most `max` of them.
    fn money(currency: Currency, max: i64) -> impl Strategy<Value = Decimal> {
        (0..=max).prop_map(move |m| Decimal::new(m, currency.minor_units()))
    }

    fn is_whole_minor_units(amount: Decimal, currency: Currency) -> bool {
        amount.scale() == currency.minor_units() && round_amount(amount, currency) == amount
    }

    proptest! {
        #[test]
        fn status_parse_is_the_inverse_of_as_str(s in "[A-Z_]{0,16}") {
            if let Some(status) = InvoiceStatus::parse(&s) {
                prop_assert_eq!(status.as_str(), s.as_str());
            }
            if let Some(status) = PaymentStatus::parse(&s) {
                prop_assert_eq!(status.as_str(), s.as_str());
            }
        }

        #[test]
        fn invoice_number_reads_back(seq in 0..=i64::MAX) {
            let number = format_invoice_number(seq);
            let digits = number.strip_prefix("INV-").unwrap();
            prop_assert!(digits.len() >= 6);
            prop_assert_eq!(digits.parse::<i64>().unwrap(), seq);
        }

        #[test]
        fn totals_add_up(
            lines in prop::collection::vec(decimal(-1_000_000, 100_000_000, 4), 0..8),
            credits in decimal(-1_000, 100_000_000, 4),
            paid in decimal(-1_000, 100_000_000, 4),
            currency in currency(),
        ) {
            let t = totals(&lines, credits, paid, currency).unwrap();
            for amount in [t.subtotal, t.credits_applied, t.total, t.amount_paid, t.amount_due] {
                prop_assert!(is_whole_minor_units(amount, currency), "{} in {}", amount, currency);
            }
            prop_assert_eq!(t.subtotal, round_amount(lines.iter().sum(), currency));
            prop_assert!(t.credits_applied >= Decimal::ZERO);
            prop_assert!(t.credits_applied <= t.subtotal.max(Decimal::ZERO));
            prop_assert!(t.total >= Decimal::ZERO && t.amount_due >= Decimal::ZERO && t.amount_paid >= Decimal::ZERO);
            prop_assert_eq!(t.total, (t.subtotal - t.credits_applied).max(Decimal::ZERO));
            prop_assert_eq!(t.amount_due, (t.total - t.amount_paid).max(Decimal::ZERO));
            if t.subtotal >= Decimal::ZERO {
                prop_assert_eq!(t.subtotal - t.credits_applied, t.total);
            }
            // Finalized: paid in full exactly when nothing is due.
            let paid_in_full = payment_status(InvoiceStatus::Finalized, t.total, t.amount_paid, t.amount_paid) == PaymentStatus::Paid;
            prop_assert_eq!(paid_in_full, t.amount_due.is_zero());
        }

        // Any amount the invoice accepts leaves a non-negative amount due,
        // and paying it keeps the payment status consistent.
        #[test]
        fn accepted_payments_never_overpay(
            currency in currency(),
            total_units in 0i64..=1_000_000,
            paid_units in 0i64..=1_000_000,
            amount in decimal(-1_000, 2_000_000, 5),
        ) {
            let total = Decimal::new(total_units, currency.minor_units());
            let paid = Decimal::new(paid_units.min(total_units), currency.minor_units());
            let t = totals(&[total], Decimal::ZERO, paid, currency).unwrap();
            match check_payment(InvoiceStatus::Finalized, amount, t.amount_due, currency) {
                Ok(accepted) => {
                    prop_assert_eq!(accepted, amount);
                    prop_assert!(is_whole_minor_units(accepted, currency));
                    prop_assert!(accepted > Decimal::ZERO && accepted <= t.amount_due);
                    let after = totals(&[total], Decimal::ZERO, paid + accepted, currency).unwrap();
                    prop_assert!(after.amount_due >= Decimal::ZERO);
                    prop_assert_eq!(after.amount_due, t.amount_due - accepted);
                    let status = payment_status(InvoiceStatus::Finalized, after.total, after.amount_paid, after.amount_paid);
                    prop_assert!(matches!(status, PaymentStatus::Paid | PaymentStatus::PartiallyPaid));
                }
                Err(refusal) => {
                    let well_formed = amount > Decimal::ZERO && amount.normalize().scale() <= currency.minor_units();
                    prop_assert!(!well_formed || amount > t.amount_due, "{:?} for {}", refusal, amount);
                }
            }
        }

        #[test]
        fn only_finalized_invoices_take_payments(
            amount in money(cur("USD"), 1_000_000),
            due in money(cur("USD"), 1_000_000),
        ) {
            let usd = cur("USD");
            if amount > Decimal::ZERO {
                prop_assert_eq!(check_payment(InvoiceStatus::Draft, amount, due, usd), Err(PaymentRefusal::NotFinalized));
                prop_assert_eq!(check_payment(InvoiceStatus::Voided, amount, due, usd), Err(PaymentRefusal::Voided));
            }
        }

        #[test]
        fn due_at_is_monotonic(days_a in any::<u32>(), days_b in any::<u32>(), secs in 0i64..=4_102_444_800) {
            let issued = DateTime::<Utc>::from_timestamp(secs, 0).unwrap();
            let (short, long) = if days_a <= days_b { (days_a, days_b) } else { (days_b, days_a) };
            prop_assert!(due_at(issued, short) <= due_at(issued, long));
            prop_assert!(due_at(issued, short) >= issued);
        }
    }
}
