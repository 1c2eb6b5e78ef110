//! Documents the renderer tests share, and a way to read a PDF's text.

use chrono::{DateTime, TimeZone, Utc};
use rust_decimal::Decimal;

use super::model::{Document, DocumentKind, DocumentLine, DocumentPayment, DocumentTier, Party, SummaryRow};

pub fn dec(text: &str) -> Decimal {
    text.parse().expect("a decimal literal")
}

pub fn day(year: i32, month: u32, day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, month, day, 0, 0, 0).unwrap()
}

/// A finalized USD invoice with a flat line, a tiered line, a line a parent
/// pays for its child, a discount and two taxes, and a payment.
pub fn invoice() -> Document {
    let period = (day(2026, 11, 1), day(2026, 12, 1));
    Document {
        kind: DocumentKind::Invoice,
        watermark: None,
        number: Some("INV-000042".into()),
        currency: "USD".into(),
        minor_units: 2,
        issuer: Party {
            name: "Acme Metering GmbH".into(),
            email: Some("billing@acme.example".into()),
            address: vec!["Hauptstrasse 5".into(), "10115 Berlin".into(), "Germany".into()],
            tax_id: Some("DE123456789".into()),
            logo_url: Some("https://acme.example/logo.png".into()),
        },
        recipient: Party {
            name: "Globex Corporation".into(),
            email: Some("ap@globex.example".into()),
            address: vec![
                "1 Market Street".into(),
                "San Francisco CA 94105".into(),
                "United States".into(),
            ],
            tax_id: Some("US-98-7654321".into()),
            logo_url: None,
        },
        issued_at: Some(day(2026, 12, 1)),
        due_at: Some(day(2026, 12, 15)),
        period: Some(period),
        notes: vec!["Thank you for your business.".into()],
        lines: vec![
            DocumentLine {
                description: "Pro plan".into(),
                for_customer: None,
                period: Some(period),
                quantity: dec("1"),
                unit_amount: Some(dec("1000.00")),
                tiers: vec![],
                amount: dec("1000.00"),
                adjustments: vec![
                    ("Discount SPRING20".into(), dec("-200.00")),
                    ("VAT 19%".into(), dec("152.00")),
                ],
            },
            DocumentLine {
                description: "API calls".into(),
                for_customer: None,
                period: Some(period),
                quantity: dec("1500"),
                unit_amount: None,
                tiers: vec![
                    DocumentTier {
                        label: "1 to 1000".into(),
                        quantity: dec("1000"),
                        unit_amount: dec("0.10"),
                        flat_amount: dec("0"),
                        amount: dec("100.00"),
                    },
                    DocumentTier {
                        label: "1001 and above".into(),
                        quantity: dec("500"),
                        unit_amount: dec("0.0815"),
                        flat_amount: dec("5"),
                        amount: dec("45.75"),
                    },
                ],
                amount: dec("145.75"),
                adjustments: vec![],
            },
            DocumentLine {
                description: "Storage GB-months".into(),
                for_customer: Some("Globex Labs".into()),
                period: Some(period),
                quantity: dec("2.5"),
                unit_amount: Some(dec("40")),
                tiers: vec![],
                amount: dec("100.00"),
                adjustments: vec![],
            },
        ],
        summary: vec![
            SummaryRow {
                label: "Subtotal".into(),
                amount: dec("1245.75"),
                emphasis: false,
            },
            SummaryRow {
                label: "Discount SPRING20".into(),
                amount: dec("-200.00"),
                emphasis: false,
            },
            SummaryRow {
                label: "VAT 19%".into(),
                amount: dec("152.00"),
                emphasis: false,
            },
            SummaryRow {
                label: "State tax 2.5%".into(),
                amount: dec("26.14"),
                emphasis: false,
            },
            SummaryRow {
                label: "Total".into(),
                amount: dec("1223.89"),
                emphasis: true,
            },
            SummaryRow {
                label: "Payments".into(),
                amount: dec("-500.00"),
                emphasis: false,
            },
            SummaryRow {
                label: "Amount due".into(),
                amount: dec("723.89"),
                emphasis: true,
            },
        ],
        payments: vec![DocumentPayment {
            paid_at: day(2026, 12, 3),
            method: "CARD".into(),
            reference: Some("ch_3PzXy".into()),
            amount: dec("500.00"),
        }],
        footer: Some("Acme Metering GmbH, Amtsgericht Berlin HRB 12345. Pay within 14 days.".into()),
        pdf_link: None,
    }
}

/// An invoice of `count` lines "Line item 1"... with amounts 1.01, 2.02, ...
pub fn long_invoice(count: usize) -> Document {
    let mut doc = invoice();
    doc.lines = (1..=count)
        .map(|index| DocumentLine {
            description: format!("Line item {index}"),
            for_customer: None,
            period: None,
            quantity: Decimal::from(index),
            unit_amount: Some(dec("1.01")),
            tiers: vec![],
            amount: dec("1.01") * Decimal::from(index),
            adjustments: vec![],
        })
        .collect();
    let total: Decimal = doc.lines.iter().map(|line| line.amount).sum();
    doc.summary = vec![
        SummaryRow {
            label: "Subtotal".into(),
            amount: total,
            emphasis: false,
        },
        SummaryRow {
            label: "Total".into(),
            amount: total,
            emphasis: true,
        },
        SummaryRow {
            label: "Amount due".into(),
            amount: total,
            emphasis: true,
        },
    ];
    doc.payments = vec![];
    doc
}

/// `pdftotext -layout` of a PDF: the text as a reader sees it.
pub fn pdf_text(pdf: &[u8]) -> String {
    let dir = std::env::temp_dir().join(format!("billgraph-pdf-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    let file = dir.join("document.pdf");
    std::fs::write(&file, pdf).expect("the PDF written to a temporary file");
    let output = std::process::Command::new("pdftotext")
        .arg("-layout")
        .arg(&file)
        .arg("-")
        .output();
    let _ = std::fs::remove_dir_all(&dir);
    let output = match output {
        Ok(output) => output,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            panic!("pdftotext is not installed: install poppler-utils (apt-get install poppler-utils)")
        }
        Err(error) => panic!("running pdftotext: {error}"),
    };
    assert!(
        output.status.success(),
        "pdftotext failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("pdftotext prints UTF-8")
}

/// Any document: any text (controls, emoji, any script), any figure Decimal
/// holds, any minor units, up to 30 lines with tiers and adjustments.
pub fn any_document() -> impl proptest::strategy::Strategy<Value = Document> {
    use proptest::prelude::*;

    let decimal = (any::<i64>(), 0u32..=28).prop_map(|(mantissa, scale)| Decimal::new(mantissa, scale));
    let text = "\\PC{0,60}|[\\x00-\\x1f]{0,5}|.{0,300}";
    let tier = (text, decimal.clone(), decimal.clone(), decimal.clone(), decimal.clone()).prop_map(
        |(label, quantity, unit_amount, flat_amount, amount)| DocumentTier {
            label,
            quantity,
            unit_amount,
            flat_amount,
            amount,
        },
    );
    let line = (
        text,
        proptest::option::of(text),
        decimal.clone(),
        proptest::option::of(decimal.clone()),
        proptest::collection::vec(tier, 0..4),
        decimal.clone(),
        proptest::collection::vec((text, decimal.clone()), 0..3),
    )
        .prop_map(
            |(description, for_customer, quantity, unit_amount, tiers, amount, adjustments)| DocumentLine {
                description,
                for_customer,
                period: Some((day(2026, 1, 1), day(2026, 2, 1))),
                quantity,
                unit_amount,
                tiers,
                amount,
                adjustments,
            },
        );
    let summary = (text, decimal.clone(), any::<bool>()).prop_map(|(label, amount, emphasis)| SummaryRow {
        label,
        amount,
        emphasis,
    });
    (
        proptest::collection::vec(line, 0..30),
        proptest::collection::vec(summary, 0..8),
        proptest::option::of(text),
        proptest::option::of(text),
        text,
        0u32..40,
    )
        .prop_map(|(lines, summary, watermark, footer, name, minor_units)| {
            let mut doc = invoice();
            doc.lines = lines;
            doc.summary = summary;
            doc.watermark = watermark;
            doc.footer = footer;
            doc.recipient.name = name.clone();
            doc.issuer.address = vec![name];
            doc.minor_units = minor_units;
            doc
        })
}
