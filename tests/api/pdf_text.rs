//! The text of a PDF as a reader sees it, for tests of the document routes.

use std::process::Command;

/// `pdftotext -layout` of `pdf`. Panics, saying what to install, when
/// pdftotext (poppler-utils) is missing.
pub fn pdf_to_text(pdf: &[u8]) -> String {
    let dir = std::env::temp_dir().join(format!("billgraph-test-pdf-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    let file = dir.join("document.pdf");
    std::fs::write(&file, pdf).expect("the PDF written to a temporary file");
    let output = Command::new("pdftotext").arg("-layout").arg(&file).arg("-").output();
    let _ = std::fs::remove_dir_all(&dir);
    let output = match output {
        Ok(output) => output,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            panic!("pdftotext is not installed: install poppler-utils (apt-get install poppler-utils, or run .ci/run)")
        }
        Err(error) => panic!("running pdftotext: {error}"),
    };
    assert!(
        output.status.success(),
        "pdftotext could not read the PDF ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("pdftotext prints UTF-8")
}

#[test]
fn reads_the_figures_of_a_rendered_invoice() {
    use billgraph::documents::model::{Document, DocumentKind, DocumentLine, Party, SummaryRow};
    use billgraph::documents::render_pdf;

    let doc = Document {
        kind: DocumentKind::Invoice,
        watermark: None,
        number: Some("INV-000001".into()),
        currency: "EUR".into(),
        minor_units: 2,
        issuer: Party {
            name: "Issuer Ltd".into(),
            ..Party::default()
        },
        recipient: Party {
            name: "Recipient SA".into(),
            ..Party::default()
        },
        issued_at: None,
        due_at: None,
        period: None,
        notes: vec![],
        lines: vec![DocumentLine {
            description: "Seats".into(),
            for_customer: None,
            period: None,
            quantity: 3.into(),
            unit_amount: Some("12.5".parse().unwrap()),
            tiers: vec![],
            amount: "37.5".parse().unwrap(),
            adjustments: vec![],
        }],
        summary: vec![SummaryRow {
            label: "Amount due".into(),
            amount: "37.5".parse().unwrap(),
            emphasis: true,
        }],
        payments: vec![],
        footer: None,
        pdf_link: None,
    };
    let text = pdf_to_text(&render_pdf(&doc));
    let seats = text
        .lines()
        .find(|line| line.trim_start().starts_with("Seats"))
        .expect(&text);
    assert_eq!(
        seats.split_whitespace().collect::<Vec<_>>(),
        ["Seats", "3", "12.50", "37.50"]
    );
    assert!(
        text.contains("EUR 37.50") && text.contains("INV-000001") && text.contains("Page 1 of 1"),
        "{text}"
    );
}
