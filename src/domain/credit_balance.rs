//! A customer's credit balance: money owed to the customer in one currency,
//! which its next invoices spend before any wallet.
//!
//! It grows when an invoice's lines add up to less than zero (the negative
//! part is kept for the customer instead of vanishing into a total of 0)
//! and when a credit note refunds to it; finalization spends it. It never
//! goes below zero: an invoice takes at most what the balance holds and at
//! most what the invoice charges.

use rust_decimal::Decimal;

use super::money::{Currency, round_amount};
use super::stored::stored_enum;

stored_enum! {
    /// Why a credit balance ledger entry was written.
    pub enum CreditBalanceReason {
        /// An invoice whose lines add up to less than zero; adds the negative part.
        NegativeInvoice = "NEGATIVE_INVOICE",
        /// Spent on an invoice at its finalization.
        InvoicePayment = "INVOICE_PAYMENT",
        /// A credit note's refund of money already paid.
        CreditNote = "CREDIT_NOTE",
        /// What an invoice spent, given back when it was voided.
        VoidRefund = "VOID_REFUND",
        /// What a negative invoice added, taken back when it was voided.
        VoidReversal = "VOID_REVERSAL",
    }
}

impl CreditBalanceReason {
    /// True when the entry adds to the balance, false when it takes from it.
    pub fn adds(self) -> bool {
        matches!(
            self,
            CreditBalanceReason::NegativeInvoice | CreditBalanceReason::CreditNote | CreditBalanceReason::VoidRefund
        )
    }
}

/// What finalizing an invoice does to its payer's credit balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BalanceSettlement {
    /// Taken from the balance toward the invoice: at most the balance, at
    /// most the (positive) subtotal.
    pub applied: Decimal,
    /// Added to the balance: the negative part of the subtotal.
    pub granted: Decimal,
}

/// How an invoice with `subtotal` settles against a credit balance of
/// `balance`, both whole minor units of `currency`. A negative subtotal
/// spends nothing and grants its negative part; a positive one spends what
/// the balance can give. Wallets pay what is left after `applied`.
pub fn settle_with_balance(subtotal: Decimal, balance: Decimal, currency: Currency) -> BalanceSettlement {
    let charged = subtotal.max(Decimal::ZERO);
    let available = balance.max(Decimal::ZERO);
    BalanceSettlement {
        applied: round_amount(charged.min(available), currency),
        granted: round_amount((-subtotal).max(Decimal::ZERO), currency),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn cur(code: &str) -> Currency {
        Currency::parse("c", code).unwrap()
    }

    #[test]
    fn reasons_round_trip_and_say_which_way_they_move() {
        for reason in CreditBalanceReason::ALL {
            assert_eq!(CreditBalanceReason::parse(reason.as_str()), Some(*reason));
        }
        let adding: Vec<&str> = CreditBalanceReason::ALL
            .iter()
            .filter(|r| r.adds())
            .map(|r| r.as_str())
            .collect();
        assert_eq!(adding, ["NEGATIVE_INVOICE", "CREDIT_NOTE", "VOID_REFUND"]);
    }

    #[test]
    fn settlement_table() {
        // (subtotal, balance, currency, applied, granted)
        let cases: &[(&str, &str, &str, &str, &str)] = &[
            // The defect: -5.00 is kept for the customer, not lost.
            ("-5.00", "0", "USD", "0.00", "5.00"),
            // ... and the next invoice of 12.00 spends it: 12.00 - 5.00 = 7.00 left to pay.
            ("12.00", "5.00", "USD", "5.00", "0.00"),
            // A balance larger than the invoice covers it and keeps the rest.
            ("3.00", "5.00", "USD", "3.00", "0.00"),
            ("0.00", "5.00", "USD", "0.00", "0.00"),
            // A negative invoice never spends the balance.
            ("-1.50", "5.00", "USD", "0.00", "1.50"),
            ("10.00", "0", "USD", "0.00", "0.00"),
            ("1000", "250", "JPY", "250", "0"),
            ("-300", "0", "JPY", "0", "300"),
            ("1.255", "0.005", "KWD", "0.005", "0.000"),
            ("-0.125", "0", "KWD", "0.000", "0.125"),
        ];
        for &(subtotal, balance, code, applied, granted) in cases {
            let got = settle_with_balance(d(subtotal), d(balance), cur(code));
            assert_eq!(
                (got.applied.to_string(), got.granted.to_string()),
                (applied.to_string(), granted.to_string()),
                "{subtotal} against {balance} {code}"
            );
        }
    }

    proptest! {
        #[test]
        fn settlement_never_overspends_and_loses_nothing(
            subtotal_units in -1_000_000i64..=1_000_000,
            balance_units in 0i64..=1_000_000,
            code in prop::sample::select(vec!["USD", "JPY", "KWD"]),
        ) {
            let currency = cur(code);
            let scale = currency.minor_units();
            let subtotal = Decimal::new(subtotal_units, scale);
            let balance = Decimal::new(balance_units, scale);
            let s = settle_with_balance(subtotal, balance, currency);
            prop_assert!(s.applied >= Decimal::ZERO && s.granted >= Decimal::ZERO);
            prop_assert!(s.applied <= balance);
            prop_assert!(s.applied <= subtotal.max(Decimal::ZERO));
            // Never both: an invoice either spends credit or adds to it.
            prop_assert!(s.applied.is_zero() || s.granted.is_zero());
            // What the customer is owed before and after is the same money.
            let owed_before = balance - subtotal;
            let balance_after = balance - s.applied + s.granted;
            let left_to_pay = subtotal.max(Decimal::ZERO) - s.applied;
            prop_assert!(balance_after >= Decimal::ZERO);
            prop_assert_eq!(owed_before, balance_after - left_to_pay);
        }
    }
}
