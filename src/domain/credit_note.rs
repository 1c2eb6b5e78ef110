//! Credit notes: how much of a finalized invoice may still be credited, and
//! where a credit note's money goes.
//!
//! An invoice can be credited up to what it charged (its subtotal, when
//! positive), however that was settled: payments, wallet credits, the
//! customer's credit balance, or still owed. A credit of a line is at most
//! that line's amount less what earlier credit notes credited on it.
//!
//! The split rule: a credit note first cancels what the invoice still asks
//! for (its amount due drops); only the rest, money the customer already
//! paid, is refunded, to the destination the credit note names.

use rust_decimal::Decimal;

use super::ValidationError;
use super::money::{Currency, MAX_AMOUNT, round_amount};
use super::stored::stored_enum;

stored_enum! {
    /// Why an invoice is credited.
    pub enum CreditNoteReason {
        Duplicate = "DUPLICATE",
        Fraudulent = "FRAUDULENT",
        OrderChange = "ORDER_CHANGE",
        ProductUnsatisfactory = "PRODUCT_UNSATISFACTORY",
        Other = "OTHER",
    }
}

stored_enum! {
    /// Where the refunded part of a credit note goes.
    pub enum RefundDestination {
        /// The customer's credit balance, spent by its next invoices.
        CreditBalance = "CREDIT_BALANCE",
        /// Credits granted to one of the customer's wallets.
        Wallet = "WALLET",
        /// A refund to pay out, recorded with its method and reference.
        RecordRefund = "RECORD_REFUND",
    }
}

/// Most lines one credit note may name.
pub const MAX_CREDIT_NOTE_LINES: usize = 100;

/// The number printed on a credit note: `CN-000042`, padded like invoice
/// numbers (see `invoice::format_invoice_number`).
pub fn format_credit_note_number(seq: i64) -> String {
    format!("CN-{seq:06}")
}

/// Checks an amount to credit as sent: above 0, a whole number of the
/// currency's minor units (never rounded: 1.005 USD is refused, not booked
/// as 1.01), at most `MAX_AMOUNT`. Returns it padded to the minor units.
pub fn check_credit_amount(field: &str, amount: Decimal, currency: Currency) -> Result<Decimal, ValidationError> {
    if amount <= Decimal::ZERO {
        return Err(ValidationError::new(field, "must be greater than 0"));
    }
    if amount.normalize().scale() > currency.minor_units() {
        let message = if currency.minor_units() == 0 {
            format!("must be a whole number of {currency}")
        } else {
            format!(
                "must have at most {} decimal places in {currency}",
                currency.minor_units()
            )
        };
        return Err(ValidationError::new(field, message));
    }
    if amount > MAX_AMOUNT {
        return Err(ValidationError::new(field, format!("must be at most {MAX_AMOUNT}")));
    }
    Ok(round_amount(amount, currency))
}

/// The figures of the invoice a credit note is checked against, each a
/// whole number of minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreditableInvoice {
    /// What the invoice charged: its subtotal when positive, else 0.
    pub charged: Decimal,
    /// What earlier credit notes of the invoice add up to.
    pub credited: Decimal,
    /// What the invoice still asks for.
    pub amount_due: Decimal,
}

impl CreditableInvoice {
    /// What may still be credited.
    pub fn creditable(&self) -> Decimal {
        (self.charged - self.credited).max(Decimal::ZERO)
    }
}

/// One line of a credit note, with the figures of the line it credits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineCredit {
    /// Checked by `check_credit_amount`.
    pub amount: Decimal,
    /// The invoice line's amount.
    pub line_amount: Decimal,
    /// What earlier credit notes credited on the line.
    pub line_credited: Decimal,
}

/// What a credit note asks to credit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreditRequest {
    /// An amount of the invoice as a whole.
    Amount(Decimal),
    /// Amounts of named lines.
    Lines(Vec<LineCredit>),
}

/// How a credit note's total divides: the amount due first, then refunds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreditSplit {
    pub total: Decimal,
    /// Cancels what the invoice still asked for.
    pub amount_credited: Decimal,
    /// Money already paid, given back to the customer.
    pub refunded: Decimal,
}

/// The split rule: of `total`, what is still due is cancelled first; the
/// rest is refunded. The parts are never negative and add up to `total`.
pub fn split_credit(total: Decimal, amount_due: Decimal) -> CreditSplit {
    let amount_credited = total.min(amount_due.max(Decimal::ZERO)).max(Decimal::ZERO);
    CreditSplit {
        total,
        amount_credited,
        refunded: total - amount_credited,
    }
}

/// Why a credit note was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreditRefusal {
    /// Nothing is left to credit: the credit notes already add up to what
    /// the invoice charged (or it charged nothing).
    FullyCredited { charged: Decimal },
    /// A line's credit exceeds what is left of the line.
    LineExceeded { index: usize, left: Decimal },
    /// The credit note would take the invoice's credit notes past what it charged.
    TotalExceeded { left: Decimal, by_lines: bool },
    /// Part of the credit note is a refund, and no destination was given.
    RefundToMissing { refunded: Decimal },
}

impl CreditRefusal {
    /// The input the refusal is about.
    pub fn field(&self) -> String {
        match self {
            CreditRefusal::FullyCredited { .. } => "invoiceId".to_owned(),
            CreditRefusal::LineExceeded { index, .. } => format!("input.lines[{index}].amount"),
            CreditRefusal::TotalExceeded { by_lines: true, .. } => "input.lines".to_owned(),
            CreditRefusal::TotalExceeded { by_lines: false, .. } => "input.amount".to_owned(),
            CreditRefusal::RefundToMissing { .. } => "input.refundTo".to_owned(),
        }
    }

    pub fn message(&self) -> String {
        match self {
            CreditRefusal::FullyCredited { charged } => {
                format!("nothing is left to credit: the invoice's credit notes add up to what it charged ({charged})")
            }
            CreditRefusal::LineExceeded { left, .. } => {
                format!("must be at most {left}: the line's amount less what earlier credit notes credited on it")
            }
            CreditRefusal::TotalExceeded { left, .. } => {
                format!("the invoice's credit notes would exceed what it charged: at most {left} can still be credited")
            }
            CreditRefusal::RefundToMissing { refunded } => format!(
                "is required: {refunded} of this credit note was already paid and goes back to the customer \
                 (CREDIT_BALANCE, WALLET or RECORD_REFUND)"
            ),
        }
    }

    /// True when the invoice's state forbids any credit note (CONFLICT),
    /// false when the request can be fixed (VALIDATION).
    pub fn is_conflict(&self) -> bool {
        matches!(self, CreditRefusal::FullyCredited { .. })
    }
}

/// Checks a credit note against its invoice and splits it. Amounts are
/// whole minor units of `currency` (see `check_credit_amount`). The checks,
/// in order: something is left to credit; each line within what is left of
/// it; the total within what is left of the invoice; a destination for the
/// part that is refunded.
pub fn plan_credit_note(
    invoice: CreditableInvoice,
    request: &CreditRequest,
    refund_to: Option<RefundDestination>,
    currency: Currency,
) -> Result<CreditSplit, CreditRefusal> {
    let creditable = round_amount(invoice.creditable(), currency);
    if creditable <= Decimal::ZERO {
        return Err(CreditRefusal::FullyCredited {
            charged: round_amount(invoice.charged.max(Decimal::ZERO), currency),
        });
    }
    let (total, by_lines) = match request {
        CreditRequest::Amount(amount) => (*amount, false),
        CreditRequest::Lines(lines) => {
            for (index, line) in lines.iter().enumerate() {
                let left = (line.line_amount - line.line_credited).max(Decimal::ZERO);
                if line.amount > left {
                    return Err(CreditRefusal::LineExceeded {
                        index,
                        left: round_amount(left, currency),
                    });
                }
            }
            // Each line is at most its invoice line, so the sum fits.
            (lines.iter().map(|l| l.amount).sum(), true)
        }
    };
    if total > creditable {
        return Err(CreditRefusal::TotalExceeded {
            left: creditable,
            by_lines,
        });
    }
    let split = split_credit(
        round_amount(total, currency),
        round_amount(invoice.amount_due, currency),
    );
    if split.refunded > Decimal::ZERO && refund_to.is_none() {
        return Err(CreditRefusal::RefundToMissing {
            refunded: split.refunded,
        });
    }
    Ok(split)
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

    fn invoice(charged: &str, credited: &str, due: &str) -> CreditableInvoice {
        CreditableInvoice {
            charged: d(charged),
            credited: d(credited),
            amount_due: d(due),
        }
    }

    fn line(amount: &str, line_amount: &str, line_credited: &str) -> LineCredit {
        LineCredit {
            amount: d(amount),
            line_amount: d(line_amount),
            line_credited: d(line_credited),
        }
    }

    #[test]
    fn enums_round_trip() {
        for reason in CreditNoteReason::ALL {
            assert_eq!(CreditNoteReason::parse(reason.as_str()), Some(*reason));
        }
        for destination in RefundDestination::ALL {
            assert_eq!(RefundDestination::parse(destination.as_str()), Some(*destination));
        }
        assert_eq!(
            CreditNoteReason::ProductUnsatisfactory.as_str(),
            "PRODUCT_UNSATISFACTORY"
        );
        assert_eq!(RefundDestination::RecordRefund.as_str(), "RECORD_REFUND");
    }

    #[test]
    fn numbers_are_padded_like_invoice_numbers() {
        assert_eq!(format_credit_note_number(1), "CN-000001");
        assert_eq!(format_credit_note_number(1_234_567), "CN-1234567");
    }

    #[test]
    fn amount_table() {
        let cases: &[(&str, &str, Result<&str, &str>)] = &[
            ("3", "USD", Ok("3.00")),
            ("3.10", "USD", Ok("3.10")),
            ("0.01", "USD", Ok("0.01")),
            ("3.000", "USD", Ok("3.00")),
            ("0.001", "USD", Err("must have at most 2 decimal places in USD")),
            ("0", "USD", Err("must be greater than 0")),
            ("-1", "USD", Err("must be greater than 0")),
            ("300", "JPY", Ok("300")),
            ("100.5", "JPY", Err("must be a whole number of JPY")),
            ("0.125", "KWD", Ok("0.125")),
            ("0.1235", "KWD", Err("must have at most 3 decimal places in KWD")),
            ("1000000000000000.01", "USD", Err("must be at most 1000000000000000")),
        ];
        for &(amount, code, want) in cases {
            let got = check_credit_amount("input.amount", d(amount), cur(code));
            match (got, want) {
                (Ok(g), Ok(w)) => assert_eq!(g.to_string(), w, "{amount} {code}"),
                (Err(g), Err(w)) => {
                    assert_eq!(g.message, w, "{amount} {code}");
                    assert_eq!(g.field, "input.amount");
                }
                (got, want) => panic!("{amount} {code}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn split_table() {
        // (total, amount due, credited, refunded)
        let cases: &[(&str, &str, &str, &str)] = &[
            // Unpaid invoice: the whole credit note cancels what is due.
            ("4.00", "10.00", "4.00", "0.00"),
            ("10.00", "10.00", "10.00", "0.00"),
            // Partly paid (15.00 of 20.00): 5.00 due first, 8.00 - 5.00 = 3.00 refunded.
            ("8.00", "5.00", "5.00", "3.00"),
            // Paid in full: everything is refunded.
            ("4.00", "0.00", "0.00", "4.00"),
            ("300", "100", "100", "200"),
        ];
        for &(total, due, credited, refunded) in cases {
            let s = split_credit(d(total), d(due));
            assert_eq!(
                (
                    s.total.to_string(),
                    s.amount_credited.to_string(),
                    s.refunded.to_string()
                ),
                (total.to_string(), credited.to_string(), refunded.to_string()),
                "{total} with {due} due"
            );
        }
    }

    #[test]
    fn plan_table() {
        use CreditRefusal as R;
        let usd = cur("USD");
        let to_balance = Some(RefundDestination::CreditBalance);
        // (invoice, request, refund to, result: (credited, refunded) or refusal)
        type Case = (
            CreditableInvoice,
            CreditRequest,
            Option<RefundDestination>,
            Result<(&'static str, &'static str), CreditRefusal>,
        );
        let cases: Vec<Case> = vec![
            // 10.00 unpaid: 3.00 cancels 3.00 of the amount due.
            (
                invoice("10.00", "0", "10.00"),
                CreditRequest::Amount(d("3.00")),
                None,
                Ok(("3.00", "0.00")),
            ),
            // 9.00 credited already: 1.00 left.
            (
                invoice("10.00", "9.00", "1.00"),
                CreditRequest::Amount(d("3.00")),
                None,
                Err(R::TotalExceeded {
                    left: d("1.00"),
                    by_lines: false,
                }),
            ),
            (
                invoice("10.00", "10.00", "0.00"),
                CreditRequest::Amount(d("0.01")),
                to_balance,
                Err(R::FullyCredited { charged: d("10.00") }),
            ),
            // A negative invoice charged nothing.
            (
                invoice("0", "0", "0"),
                CreditRequest::Amount(d("1.00")),
                to_balance,
                Err(R::FullyCredited { charged: d("0.00") }),
            ),
            // Paid 15.00 of 20.00: 8.00 = 5.00 due + 3.00 refunded, which needs a destination.
            (
                invoice("20.00", "0", "5.00"),
                CreditRequest::Amount(d("8.00")),
                None,
                Err(R::RefundToMissing { refunded: d("3.00") }),
            ),
            (
                invoice("20.00", "0", "5.00"),
                CreditRequest::Amount(d("8.00")),
                to_balance,
                Ok(("5.00", "3.00")),
            ),
            // Lines: a 6.00 line with 1.50 credited before has 6.00 - 1.50 = 4.50 left; 5.00 is too much.
            (
                invoice("10.00", "1.50", "8.50"),
                CreditRequest::Lines(vec![line("1.00", "4.00", "0"), line("5.00", "6.00", "1.50")]),
                None,
                Err(R::LineExceeded {
                    index: 1,
                    left: d("4.50"),
                }),
            ),
            // 1.00 + 4.50 = 5.50, all of it still due (8.50).
            (
                invoice("10.00", "1.50", "8.50"),
                CreditRequest::Lines(vec![line("1.00", "4.00", "0"), line("4.50", "6.00", "1.50")]),
                None,
                Ok(("5.50", "0.00")),
            ),
            // Lines within themselves but beyond the invoice: a credit line
            // (-5.00) made the invoice charge less than its positive lines.
            (
                invoice("5.00", "0", "5.00"),
                CreditRequest::Lines(vec![line("10.00", "10.00", "0")]),
                None,
                Err(R::TotalExceeded {
                    left: d("5.00"),
                    by_lines: true,
                }),
            ),
            // A negative line can never be credited.
            (
                invoice("5.00", "0", "5.00"),
                CreditRequest::Lines(vec![line("1.00", "-5.00", "0")]),
                None,
                Err(R::LineExceeded {
                    index: 0,
                    left: d("0.00"),
                }),
            ),
        ];
        for (invoice, request, refund_to, want) in cases {
            let got = plan_credit_note(invoice, &request, refund_to, usd);
            match (got, want) {
                (Ok(g), Ok((credited, refunded))) => {
                    assert_eq!(
                        (g.amount_credited.to_string(), g.refunded.to_string()),
                        (credited.to_string(), refunded.to_string()),
                        "{invoice:?} {request:?}"
                    );
                }
                (Err(g), Err(w)) => assert_eq!(g, w, "{invoice:?} {request:?}"),
                (got, want) => panic!("{invoice:?} {request:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn refusal_fields_messages_and_kinds() {
        let cases: &[(CreditRefusal, &str, &str, bool)] = &[
            (
                CreditRefusal::FullyCredited { charged: d("10.00") },
                "invoiceId",
                "nothing is left to credit: the invoice's credit notes add up to what it charged (10.00)",
                true,
            ),
            (
                CreditRefusal::LineExceeded {
                    index: 2,
                    left: d("1.50"),
                },
                "input.lines[2].amount",
                "must be at most 1.50: the line's amount less what earlier credit notes credited on it",
                false,
            ),
            (
                CreditRefusal::TotalExceeded {
                    left: d("1.00"),
                    by_lines: false,
                },
                "input.amount",
                "the invoice's credit notes would exceed what it charged: at most 1.00 can still be credited",
                false,
            ),
            (
                CreditRefusal::TotalExceeded {
                    left: d("1.00"),
                    by_lines: true,
                },
                "input.lines",
                "the invoice's credit notes would exceed what it charged: at most 1.00 can still be credited",
                false,
            ),
            (
                CreditRefusal::RefundToMissing { refunded: d("3.00") },
                "input.refundTo",
                "is required: 3.00 of this credit note was already paid and goes back to the customer \
                 (CREDIT_BALANCE, WALLET or RECORD_REFUND)",
                false,
            ),
        ];
        for (refusal, field, message, conflict) in cases {
            assert_eq!(refusal.field(), *field);
            assert_eq!(refusal.message(), *message);
            assert_eq!(refusal.is_conflict(), *conflict, "{refusal:?}");
        }
    }

    fn currency() -> impl Strategy<Value = Currency> {
        prop::sample::select(vec!["USD", "JPY", "KWD"]).prop_map(cur)
    }

    proptest! {
        #[test]
        fn the_parts_of_a_split_add_up(total in 0i64..=1_000_000, due in -1_000i64..=1_000_000, currency in currency()) {
            let scale = currency.minor_units();
            let (total, due) = (Decimal::new(total, scale), Decimal::new(due, scale));
            let s = split_credit(total, due);
            prop_assert_eq!(s.amount_credited + s.refunded, total);
            prop_assert!(s.amount_credited >= Decimal::ZERO && s.refunded >= Decimal::ZERO);
            prop_assert_eq!(s.amount_credited, total.min(due.max(Decimal::ZERO)));
        }

        /// Credit notes one after another, each planned against the invoice
        /// as the ones before left it: what they credit never exceeds what
        /// the invoice charged, no line is credited beyond its amount, the
        /// amount due never goes below zero, and every credit note's parts
        /// add up to its total.
        #[test]
        fn credit_notes_never_exceed_the_invoice(
            currency in currency(),
            lines in prop::collection::vec(-2_000i64..=10_000, 1..5),
            paid_share in 0u32..=100,
            requests in prop::collection::vec(
                (any::<bool>(), 0usize..5, 1i64..=6_000),
                1..12,
            ),
        ) {
            let scale = currency.minor_units();
            let line_amounts: Vec<Decimal> = lines.iter().map(|u| Decimal::new(*u, scale)).collect();
            let charged = line_amounts.iter().copied().sum::<Decimal>().max(Decimal::ZERO);
            let paid = round_amount(charged * Decimal::from(paid_share) / Decimal::from(100), currency);
            let mut inv = CreditableInvoice { charged, credited: Decimal::ZERO, amount_due: charged - paid };
            let mut line_credited = vec![Decimal::ZERO; line_amounts.len()];
            let mut refunded_total = Decimal::ZERO;
            for (by_line, index, units) in requests {
                let amount = Decimal::new(units, scale);
                let index = index % line_amounts.len();
                let request = if by_line {
                    CreditRequest::Lines(vec![LineCredit {
                        amount,
                        line_amount: line_amounts[index],
                        line_credited: line_credited[index],
                    }])
                } else {
                    CreditRequest::Amount(amount)
                };
                let Ok(split) = plan_credit_note(inv, &request, Some(RefundDestination::CreditBalance), currency) else {
                    continue;
                };
                prop_assert_eq!(split.total, amount);
                prop_assert_eq!(split.amount_credited + split.refunded, split.total);
                if by_line {
                    line_credited[index] += amount;
                    prop_assert!(line_credited[index] <= line_amounts[index]);
                }
                inv.credited += split.total;
                inv.amount_due -= split.amount_credited;
                refunded_total += split.refunded;
                prop_assert!(inv.credited <= charged);
                prop_assert!(inv.amount_due >= Decimal::ZERO);
            }
            // Refunds only ever give back what was paid.
            prop_assert!(refunded_total <= paid);
        }
    }
}
