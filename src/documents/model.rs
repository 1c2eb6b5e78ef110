//! What an invoice or credit note document shows, already worked out: every
//! figure is final and every text is what is printed. The renderers only lay
//! it out, so the HTML page and the PDF can never disagree.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

/// An invoice or a credit note, ready to render.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub kind: DocumentKind,
    /// Printed large across the document: DRAFT for a draft invoice, VOID
    /// for a voided one; None otherwise.
    pub watermark: Option<String>,
    /// INV-000042 or CN-000007; None for a draft.
    pub number: Option<String>,
    /// ISO 4217 code of every amount.
    pub currency: String,
    /// Decimal places every amount is printed with (2 for USD, 0 for JPY, 3 for KWD).
    pub minor_units: u32,
    /// The tenant.
    pub issuer: Party,
    /// The customer billed (the payer).
    pub recipient: Party,
    pub issued_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    /// The period billed, when there is one.
    pub period: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// A credit note's reason and memo, or an invoice's; printed under the header.
    pub notes: Vec<String>,
    pub lines: Vec<DocumentLine>,
    /// Label and figure rows of the summary, in order: Subtotal, each
    /// discount, each tax, Total, credits applied, payments, Amount due.
    pub summary: Vec<SummaryRow>,
    /// Payments received, oldest first.
    pub payments: Vec<DocumentPayment>,
    /// The tenant's invoice footer.
    pub footer: Option<String>,
    /// On the hosted page: where the PDF of this document is.
    pub pdf_link: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    Invoice,
    CreditNote,
}

/// Who issues or receives a document. Empty parts are left out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Party {
    pub name: String,
    pub email: Option<String>,
    /// Address lines in print order (street, city and postal code, state, country).
    pub address: Vec<String>,
    /// E.g. a VAT number.
    pub tax_id: Option<String>,
    /// The issuer's logo, shown on the HTML page only (https URL).
    pub logo_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DocumentLine {
    pub description: String,
    /// Under payer PARENT: the name of the customer the charge is for, when
    /// it is not the recipient.
    pub for_customer: Option<String>,
    pub period: Option<(DateTime<Utc>, DateTime<Utc>)>,
    pub quantity: Decimal,
    /// Where one unit price applies.
    pub unit_amount: Option<Decimal>,
    /// Tiered prices: one row per tier reached.
    pub tiers: Vec<DocumentTier>,
    /// The line's amount before discounts and taxes, in minor units.
    pub amount: Decimal,
    /// Discounts and taxes on this line, e.g. "Discount SPRING20 -2.00",
    /// "VAT 19% 3.42"; printed under the line.
    pub adjustments: Vec<(String, Decimal)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DocumentTier {
    /// E.g. "1 to 100", "101 and above".
    pub label: String,
    pub quantity: Decimal,
    pub unit_amount: Decimal,
    pub flat_amount: Decimal,
    pub amount: Decimal,
}

/// One row of the summary block.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryRow {
    pub label: String,
    pub amount: Decimal,
    /// Printed bold and separated: Total and Amount due.
    pub emphasis: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DocumentPayment {
    pub paid_at: DateTime<Utc>,
    /// CARD, BANK_TRANSFER, ...
    pub method: String,
    pub reference: Option<String>,
    pub amount: Decimal,
}
