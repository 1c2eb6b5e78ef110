//! The HTML page of a document: one self-contained page (inline CSS, no
//! scripts, nothing loaded from elsewhere but the issuer's https logo) that
//! reads on a phone and prints on A4.
//!
//! Every text from the model is escaped: names, descriptions and notes are
//! typed by tenants and their customers.

use std::fmt::Write;

use super::format;
use super::model::{Document, DocumentLine, Party};

const STYLE: &str = include_str!("document.css");

/// The document as one HTML page.
pub fn render_html(doc: &Document) -> String {
    let mut page = String::with_capacity(8192 + doc.lines.len() * 512);
    let title = format!("{} {}", format::title(doc.kind), format::number(doc));
    page.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    page.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    page.push_str("<meta name=\"robots\" content=\"noindex\">\n");
    let _ = writeln!(page, "<title>{}</title>", escape(&title));
    let _ = writeln!(page, "<style>\n{STYLE}</style>\n</head>\n<body>");
    page.push_str("<main class=\"document\">\n");
    if let Some(word) = &doc.watermark {
        let word = escape(word);
        let _ = writeln!(page, "<div class=\"watermark\" aria-hidden=\"true\">{word}</div>");
        let _ = writeln!(page, "<p class=\"mark\">{word}</p>");
    }
    header(&mut page, doc);
    notes(&mut page, doc);
    lines(&mut page, doc);
    summary(&mut page, doc);
    payments(&mut page, doc);
    if let Some(footer) = &doc.footer {
        let _ = writeln!(page, "<footer>{}</footer>", escape(footer));
    }
    page.push_str("</main>\n</body>\n</html>\n");
    page
}

fn header(page: &mut String, doc: &Document) {
    page.push_str("<header>\n<section class=\"issuer\">\n");
    if let Some(logo) = doc.issuer.logo_url.as_deref().filter(|url| url.starts_with("https://")) {
        let _ = writeln!(page, "<img class=\"logo\" src=\"{}\" alt=\"\">", escape(logo));
    }
    party(page, &doc.issuer, "h2");
    page.push_str("</section>\n<section class=\"facts\">\n");
    let _ = writeln!(page, "<h1>{}</h1>", format::title(doc.kind));
    let _ = writeln!(page, "<p class=\"number\">{}</p>", escape(format::number(doc)));
    page.push_str("<dl>\n");
    let mut fact = |label: &str, value: String| {
        let _ = writeln!(page, "<dt>{label}</dt><dd>{value}</dd>");
    };
    if let Some(at) = doc.issued_at {
        fact("Issue date", format::date(at));
    }
    if let Some(at) = doc.due_at {
        fact("Due date", format::date(at));
    }
    if let Some(period) = doc.period {
        fact("Period", format::period(period));
    }
    page.push_str("</dl>\n");
    let _ = writeln!(page, "<p class=\"currency\">{}</p>", escape(&format::amounts_in(doc)));
    if let Some(link) = doc.pdf_link.as_deref().filter(|link| is_safe_link(link)) {
        let _ = writeln!(
            page,
            "<p class=\"download\"><a href=\"{}\">Download PDF</a></p>",
            escape(link)
        );
    }
    page.push_str("</section>\n</header>\n");
    page.push_str("<section class=\"recipient\">\n<h3>Bill to</h3>\n");
    party(page, &doc.recipient, "p class=\"name\"");
    page.push_str("</section>\n");
}

/// A name in `name_tag`, then address lines, email and tax id.
fn party(page: &mut String, party: &Party, name_tag: &str) {
    let close = name_tag.split(' ').next().unwrap_or(name_tag);
    if !party.name.is_empty() {
        let _ = writeln!(page, "<{name_tag}>{}</{close}>", escape(&party.name));
    }
    page.push_str("<address>");
    let mut details = party.address.iter().map(|line| escape(line)).collect::<Vec<_>>();
    if let Some(email) = &party.email {
        details.push(escape(email));
    }
    if let Some(tax_id) = &party.tax_id {
        details.push(format!("Tax ID: {}", escape(tax_id)));
    }
    page.push_str(&details.join("<br>"));
    page.push_str("</address>\n");
}

fn notes(page: &mut String, doc: &Document) {
    for note in doc.notes.iter().filter(|note| !note.is_empty()) {
        let _ = writeln!(page, "<p class=\"note\">{}</p>", escape(note));
    }
}

fn lines(page: &mut String, doc: &Document) {
    page.push_str("<div class=\"scroll\">\n<table class=\"lines\">\n<thead><tr><th>Description</th>");
    page.push_str(
        "<th class=\"num\">Quantity</th><th class=\"num\">Unit price</th><th class=\"num\">Amount</th></tr></thead>\n",
    );
    if doc.lines.is_empty() {
        page.push_str("<tbody><tr><td colspan=\"4\">No lines</td></tr></tbody>\n");
    }
    for line in &doc.lines {
        line_rows(page, line, doc.minor_units);
    }
    page.push_str("</table>\n</div>\n");
}

/// A line and, under it, whom it is for, its period, its tiers and its
/// discounts and taxes; one `tbody` so the rows stay together in print.
fn line_rows(page: &mut String, line: &DocumentLine, minor_units: u32) {
    let unit = line
        .unit_amount
        .map(|unit| format::unit_price(unit, minor_units))
        .unwrap_or_default();
    let _ = writeln!(
        page,
        "<tbody><tr class=\"line\"><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
        escape(&line.description),
        format::quantity(line.quantity),
        unit,
        format::amount(line.amount, minor_units),
    );
    let mut detail = |label: String, quantity: String, unit: String, amount: String| {
        let _ = writeln!(
            page,
            "<tr class=\"detail\"><td>{label}</td><td class=\"num\">{quantity}</td><td class=\"num\">{unit}</td><td class=\"num\">{amount}</td></tr>",
        );
    };
    if let Some(name) = &line.for_customer {
        detail(
            escape(&format::for_customer(name)),
            String::new(),
            String::new(),
            String::new(),
        );
    }
    if let Some(period) = line.period {
        detail(format::period(period), String::new(), String::new(), String::new());
    }
    for tier in &line.tiers {
        detail(
            escape(&format::tier_label(tier, minor_units)),
            format::quantity(tier.quantity),
            format::unit_price(tier.unit_amount, minor_units),
            format::amount(tier.amount, minor_units),
        );
    }
    for (label, value) in &line.adjustments {
        detail(
            escape(label),
            String::new(),
            String::new(),
            format::amount(*value, minor_units),
        );
    }
    page.push_str("</tbody>\n");
}

fn summary(page: &mut String, doc: &Document) {
    if doc.summary.is_empty() {
        return;
    }
    page.push_str("<table class=\"summary\">\n");
    for row in &doc.summary {
        let class = if row.emphasis { " class=\"emphasis\"" } else { "" };
        let _ = writeln!(
            page,
            "<tr{class}><th>{}</th><td class=\"num\">{}</td></tr>",
            escape(&row.label),
            escape(&format::money(row.amount, &doc.currency, doc.minor_units)),
        );
    }
    page.push_str("</table>\n");
}

fn payments(page: &mut String, doc: &Document) {
    if doc.payments.is_empty() {
        return;
    }
    page.push_str("<section class=\"payments\">\n<h3>Payments</h3>\n<div class=\"scroll\">\n<table>\n");
    page.push_str("<thead><tr><th>Date</th><th>Method</th><th>Reference</th><th class=\"num\">Amount</th></tr></thead>\n<tbody>\n");
    for payment in &doc.payments {
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
            format::date(payment.paid_at),
            escape(&payment.method),
            escape(payment.reference.as_deref().unwrap_or("")),
            format::amount(payment.amount, doc.minor_units),
        );
    }
    page.push_str("</tbody>\n</table>\n</div>\n</section>\n");
}

/// Only links that cannot run code: https, http, or a path on this server.
fn is_safe_link(link: &str) -> bool {
    link.starts_with("https://") || link.starts_with("http://") || (link.starts_with('/') && !link.starts_with("//"))
}

/// Text safe in element content and in quoted attributes. Control
/// characters other than whitespace are dropped: HTML does not allow them.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            '\t' | '\n' | '\r' => escaped.push(' '),
            c if c.is_control() => {}
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::documents::model::{DocumentKind, SummaryRow};
    use crate::documents::samples::{self, dec};

    /// The table row (up to its `</tr>`) that holds `marker`, or a panic.
    fn row_with<'h>(html: &'h str, marker: &str) -> &'h str {
        let start = html
            .find(marker)
            .unwrap_or_else(|| panic!("{marker:?} missing from:\n{html}"));
        let row_start = html[..start].rfind("<tr").expect("inside a row");
        let end = start + html[start..].find("</tr>").expect("a closed row");
        &html[row_start..end]
    }

    /// The texts of a row's cells, in order.
    fn cells(row: &str) -> Vec<&str> {
        row.split("<td")
            .skip(1)
            .map(|cell| {
                let text = &cell[cell.find('>').unwrap() + 1..];
                &text[..text.find("</td>").unwrap_or(text.len())]
            })
            .collect()
    }

    #[test]
    fn the_page_holds_every_fact_of_the_invoice() {
        let doc = samples::invoice();
        let html = render_html(&doc);
        for fact in [
            "<title>Invoice INV-000042</title>",
            "<h1>Invoice</h1>",
            "INV-000042",
            "Acme Metering GmbH",
            "Hauptstrasse 5",
            "10115 Berlin",
            "billing@acme.example",
            "Tax ID: DE123456789",
            "Globex Corporation",
            "San Francisco CA 94105",
            "ap@globex.example",
            "Tax ID: US-98-7654321",
            "<dt>Issue date</dt><dd>2026-12-01</dd>",
            "<dt>Due date</dt><dd>2026-12-15</dd>",
            "<dt>Period</dt><dd>2026-11-01 to 2026-12-01</dd>",
            "Amounts in USD",
            "Thank you for your business.",
            "Acme Metering GmbH, Amtsgericht Berlin HRB 12345. Pay within 14 days.",
            "<img class=\"logo\" src=\"https://acme.example/logo.png\" alt=\"\">",
        ] {
            assert!(html.contains(fact), "{fact:?} missing from:\n{html}");
        }
        assert_eq!(
            cells(row_with(&html, "Pro plan")),
            ["Pro plan", "1", "1000.00", "1000.00"]
        );
        assert_eq!(cells(row_with(&html, "API calls")), ["API calls", "1500", "", "145.75"]);
        assert_eq!(
            cells(row_with(&html, "Storage GB-months")),
            ["Storage GB-months", "2.5", "40.00", "100.00"]
        );
        assert_eq!(
            cells(row_with(&html, "for Globex Labs")),
            ["for Globex Labs", "", "", ""]
        );
        assert_eq!(
            cells(row_with(&html, "1 to 1000")),
            ["1 to 1000", "1000", "0.10", "100.00"]
        );
        assert_eq!(
            cells(row_with(&html, "(flat fee 5.00)")),
            ["1001 and above (flat fee 5.00)", "500", "0.0815", "45.75"]
        );
        assert_eq!(
            cells(row_with(&html, "<td>Discount SPRING20")),
            ["Discount SPRING20", "", "", "-200.00"]
        );
        assert_eq!(cells(row_with(&html, "<td>VAT 19%")), ["VAT 19%", "", "", "152.00"]);
        for row in &doc.summary {
            let printed = format!(
                "<th>{}</th><td class=\"num\">{}</td>",
                row.label,
                format::money(row.amount, "USD", 2)
            );
            assert!(html.contains(&printed), "{printed:?} missing from:\n{html}");
        }
        assert!(html.contains("<tr class=\"emphasis\"><th>Amount due</th><td class=\"num\">USD 723.89</td>"));
        assert!(
            html.contains("<tr><td>2026-12-03</td><td>CARD</td><td>ch_3PzXy</td><td class=\"num\">500.00</td></tr>")
        );
        assert!(!html.contains("DRAFT") && !html.contains("Download PDF"));
    }

    #[test]
    fn the_page_is_self_contained() {
        let html = render_html(&samples::invoice());
        assert!(!html.contains("<script"));
        assert!(!html.contains("<link"));
        assert!(!html.contains("url("));
        // The logo is the one thing loaded from elsewhere.
        assert_eq!(html.matches("src=").count(), 1);
        assert!(html.contains("<meta name=\"viewport\""));
    }

    #[test]
    fn user_text_is_escaped() {
        let mut doc = samples::invoice();
        doc.recipient.name = "<script>alert('x')</script>".into();
        doc.lines[0].description = "A & B \"quoted\" <b>bold</b>".into();
        doc.issuer.logo_url = Some("https://evil.example/\"><script>alert(1)</script>".into());
        doc.notes = vec!["</style><script>x</script>\u{0}".into()];
        let html = render_html(&doc);
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"),
            "{html}"
        );
        assert!(
            html.contains("A &amp; B &quot;quoted&quot; &lt;b&gt;bold&lt;/b&gt;"),
            "{html}"
        );
        assert!(
            html.contains("src=\"https://evil.example/&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\""),
            "{html}"
        );
        assert!(!html.contains('\u{0}'));
    }

    #[test]
    fn only_an_https_logo_is_shown() {
        let mut doc = samples::invoice();
        doc.issuer.logo_url = Some("http://acme.example/logo.png".into());
        assert!(!render_html(&doc).contains("<img"));
        doc.issuer.logo_url = Some("javascript:alert(1)".into());
        assert!(!render_html(&doc).contains("<img"));
    }

    #[test]
    fn the_pdf_link_is_offered_when_set() {
        let mut doc = samples::invoice();
        doc.pdf_link = Some("/v1/hosted/invoices/abc?sig=1&exp=2".into());
        let html = render_html(&doc);
        assert!(
            html.contains("<a href=\"/v1/hosted/invoices/abc?sig=1&amp;exp=2\">Download PDF</a>"),
            "{html}"
        );
        doc.pdf_link = Some("javascript:alert(1)".into());
        assert!(!render_html(&doc).contains("Download PDF"));
        doc.pdf_link = Some("//evil.example/x.pdf".into());
        assert!(!render_html(&doc).contains("Download PDF"));
    }

    #[test]
    fn drafts_void_invoices_and_credit_notes_say_what_they_are() {
        let mut draft = samples::invoice();
        draft.watermark = Some("DRAFT".into());
        draft.number = None;
        let html = render_html(&draft);
        assert!(
            html.contains("<p class=\"mark\">DRAFT</p>") && html.contains("<p class=\"number\">Draft</p>"),
            "{html}"
        );
        assert!(!html.contains("INV-"));

        let mut void = samples::invoice();
        void.watermark = Some("VOID".into());
        assert!(render_html(&void).contains("<p class=\"mark\">VOID</p>"));

        let mut note = samples::invoice();
        note.kind = DocumentKind::CreditNote;
        note.number = Some("CN-000007".into());
        let html = render_html(&note);
        assert!(html.contains("<h1>Credit note</h1>") && html.contains("<title>Credit note CN-000007</title>"));
    }

    #[test]
    fn yen_and_dinar_amounts_have_their_minor_units() {
        let mut yen = samples::invoice();
        yen.currency = "JPY".into();
        yen.minor_units = 0;
        yen.lines[0].unit_amount = Some(dec("1500"));
        yen.lines[0].amount = dec("1500");
        yen.summary = vec![SummaryRow {
            label: "Amount due".into(),
            amount: dec("1650"),
            emphasis: true,
        }];
        let html = render_html(&yen);
        assert_eq!(cells(row_with(&html, "Pro plan")), ["Pro plan", "1", "1500", "1500"]);
        assert!(html.contains("<th>Amount due</th><td class=\"num\">JPY 1650</td>"));
        assert!(html.contains("Amounts in JPY"));

        let mut dinar = yen.clone();
        dinar.currency = "KWD".into();
        dinar.minor_units = 3;
        dinar.lines[0].unit_amount = Some(dec("1.5"));
        dinar.lines[0].amount = dec("1.5");
        dinar.summary[0].amount = dec("1.5");
        let html = render_html(&dinar);
        assert_eq!(cells(row_with(&html, "Pro plan")), ["Pro plan", "1", "1.500", "1.500"]);
        assert!(html.contains("<th>Amount due</th><td class=\"num\">KWD 1.500</td>"));
    }

    #[test]
    fn an_empty_document_still_renders() {
        let mut doc = samples::invoice();
        doc.lines.clear();
        doc.summary.clear();
        doc.payments.clear();
        doc.issuer = Party::default();
        doc.recipient = Party::default();
        doc.footer = None;
        let html = render_html(&doc);
        assert!(html.contains("No lines") && html.ends_with("</html>\n"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        #[test]
        fn any_document_renders_to_a_closed_page(doc in samples::any_document()) {
            let html = render_html(&doc);
            proptest::prop_assert!(html.ends_with("</html>\n"));
            proptest::prop_assert!(!html.contains("<script"));
        }
    }
}
