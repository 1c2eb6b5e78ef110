//! The PDF of a document: A4 pages in the standard Helvetica fonts, written
//! with `pdf-writer`.
//!
//! Every figure is its own text run, set without kerning or character
//! spacing, so text extraction (`pdftotext`, screen readers, accounting
//! tools) reads each number whole. Long tables break across pages with
//! their header repeated; every page carries the footer and "Page N of M".

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use super::format;
use super::helvetica::{self, Face};
use super::model::{Document, DocumentLine, Party};

const PAGE_WIDTH: f32 = 595.28;
const PAGE_HEIGHT: f32 = 841.89;
const MARGIN: f32 = 50.0;
const LEFT: f32 = MARGIN;
const RIGHT: f32 = PAGE_WIDTH - MARGIN;
const TOP: f32 = PAGE_HEIGHT - MARGIN;
/// Baseline of the "Page N of M" line.
const PAGE_NUMBER_BASELINE: f32 = 30.0;

const BODY: f32 = 9.0;
const SMALL: f32 = 8.0;
const LEADING: f32 = 1.35;

/// Right edges of the line table's figure columns, and the description's
/// width. The figures are right-aligned so their decimals line up.
const AMOUNT_RIGHT: f32 = RIGHT;
const UNIT_RIGHT: f32 = RIGHT - 95.0;
const QUANTITY_RIGHT: f32 = RIGHT - 185.0;
const FIGURE_WIDTH: f32 = 85.0;
const DESCRIPTION_WIDTH: f32 = QUANTITY_RIGHT - FIGURE_WIDTH - LEFT;
/// What rows under a line (tiers, adjustments) are indented by.
const INDENT: f32 = 12.0;

/// A description longer than this many lines is cut with "...": one line
/// item must never fill pages on its own.
const MAX_DESCRIPTION_LINES: usize = 12;
const MAX_FOOTER_LINES: usize = 3;

const INK: f32 = 0.0;
const MUTED: f32 = 0.4;
const RULE: f32 = 0.75;
const WATERMARK_SIZE: f32 = 44.0;

/// How a run of text is set: its font, its size in points, its grey (0 is black).
#[derive(Debug, Clone, Copy)]
struct Style {
    face: Face,
    size: f32,
    gray: f32,
}

impl Style {
    const fn new(face: Face, size: f32, gray: f32) -> Self {
        Style { face, size, gray }
    }

    fn width(self, encoded: &[u8]) -> f32 {
        helvetica::width(encoded, self.face, self.size)
    }

    fn resized(self, size: f32) -> Self {
        Style { size, ..self }
    }
}

const BODY_TEXT: Style = Style::new(Face::Regular, BODY, INK);
/// Rows under a line, notes of lesser weight, the footer.
const DETAIL: Style = Style::new(Face::Regular, SMALL, MUTED);
/// Column headings and "BILL TO".
const LABEL: Style = Style::new(Face::Bold, SMALL, MUTED);
const TITLE: Style = Style::new(Face::Bold, 20.0, INK);
const HEADING: Style = Style::new(Face::Bold, 11.0, INK);
const WATERMARK: Style = Style::new(Face::Bold, WATERMARK_SIZE, 0.7);

const REGULAR_FONT: Name<'static> = Name(b"F1");
const BOLD_FONT: Name<'static> = Name(b"F2");

/// The document as a PDF file.
pub fn render_pdf(doc: &Document) -> Vec<u8> {
    let mut sheet = Sheet::new(doc);
    sheet.start_page();
    sheet.header();
    sheet.lines();
    sheet.summary();
    sheet.payments();
    sheet.finish()
}

/// Lays the document out top to bottom, starting pages as they fill.
struct Sheet<'a> {
    doc: &'a Document,
    pages: Vec<Content>,
    /// Baseline of the next row on the current page.
    y: f32,
    /// The lowest baseline body text may use, above the footer.
    bottom: f32,
    footer: Vec<Vec<u8>>,
    /// While the line table is being laid out, a new page repeats its header.
    in_table: bool,
}

impl<'a> Sheet<'a> {
    fn new(doc: &'a Document) -> Self {
        let footer = doc
            .footer
            .as_deref()
            .map(|text| wrap(text, DETAIL, RIGHT - LEFT, MAX_FOOTER_LINES))
            .unwrap_or_default();
        let bottom = PAGE_NUMBER_BASELINE + SMALL * LEADING * (footer.len() as f32 + 1.0) + 12.0;
        Sheet {
            doc,
            pages: Vec::new(),
            y: TOP,
            bottom,
            footer,
            in_table: false,
        }
    }

    fn content(&mut self) -> &mut Content {
        self.pages
            .last_mut()
            .expect("a page is started before anything is drawn")
    }

    fn start_page(&mut self) {
        self.pages.push(Content::new());
        self.y = TOP;
        if let Some(word) = self.doc.watermark.as_deref() {
            self.watermark(word);
        }
        if self.pages.len() > 1 {
            let heading = format!(
                "{} {} (continued)",
                format::title(self.doc.kind),
                format::number(self.doc)
            );
            self.text(LEFT, self.y, DETAIL, &helvetica::encode(&heading));
            self.y -= SMALL * LEADING * 2.0;
        }
        if self.in_table {
            self.table_header();
        }
    }

    /// Starts a new page unless `height` more points fit on this one.
    fn make_room(&mut self, height: f32) {
        if self.y - height < self.bottom {
            self.start_page();
        }
    }

    fn advance(&mut self, size: f32) {
        self.y -= size * LEADING;
    }

    fn header(&mut self) {
        let doc = self.doc;
        let column = (RIGHT - LEFT) / 2.0 - 10.0;
        let top = self.y;

        // The issuer on the left.
        self.party(&doc.issuer, LEFT, column, 14.0);
        let issuer_bottom = self.y;

        // Title, number and dates on the right.
        self.y = top;
        let title = helvetica::encode(format::title(doc.kind));
        self.text_right(RIGHT, self.y, TITLE, &title, column);
        self.advance(20.0);
        self.text_right(RIGHT, self.y, HEADING, &helvetica::encode(format::number(doc)), column);
        self.advance(11.0);
        let mut facts = Vec::new();
        if let Some(at) = doc.issued_at {
            facts.push(format!("Issue date: {}", format::date(at)));
        }
        if let Some(at) = doc.due_at {
            facts.push(format!("Due date: {}", format::date(at)));
        }
        if let Some(period) = doc.period {
            facts.push(format!("Period: {}", format::period(period)));
        }
        facts.push(format::amounts_in(doc));
        for fact in facts {
            self.text_right(RIGHT, self.y, BODY_TEXT, &helvetica::encode(&fact), column);
            self.advance(BODY);
        }

        self.y = self.y.min(issuer_bottom) - 18.0;
        self.text(LEFT, self.y, LABEL, b"BILL TO");
        self.advance(SMALL);
        self.y -= 3.0;
        self.party(&doc.recipient, LEFT, RIGHT - LEFT, 11.0);

        if !doc.notes.is_empty() {
            self.y -= 8.0;
            for note in &doc.notes {
                for row in wrap(note, BODY_TEXT, RIGHT - LEFT, usize::MAX) {
                    self.make_room(BODY * LEADING);
                    self.text(LEFT, self.y, BODY_TEXT, &row);
                    self.advance(BODY);
                }
            }
        }
        self.y -= 14.0;
    }

    /// A name in bold, then its address, email and tax id, each wrapped to
    /// `width` so a long one never runs into the next column.
    fn party(&mut self, party: &Party, x: f32, width: f32, name_size: f32) {
        let name_style = Style::new(Face::Bold, name_size, INK);
        for row in wrap(&party.name, name_style, width, 3) {
            self.text(x, self.y, name_style, &row);
            self.advance(name_size);
        }
        let tax_id = party.tax_id.as_ref().map(|id| format!("Tax ID: {id}"));
        let details = party.address.iter().chain(party.email.as_ref()).chain(tax_id.as_ref());
        for detail in details {
            for row in wrap(detail, BODY_TEXT, width, 3) {
                self.make_room(BODY * LEADING);
                self.text(x, self.y, BODY_TEXT, &row);
                self.advance(BODY);
            }
        }
    }

    fn table_header(&mut self) {
        let y = self.y;
        self.text(LEFT, y, LABEL, b"DESCRIPTION");
        self.text_right(QUANTITY_RIGHT, y, LABEL, b"QUANTITY", FIGURE_WIDTH);
        self.text_right(UNIT_RIGHT, y, LABEL, b"UNIT PRICE", FIGURE_WIDTH);
        self.text_right(AMOUNT_RIGHT, y, LABEL, b"AMOUNT", FIGURE_WIDTH);
        self.rule(y - 4.0, RULE, 0.8);
        self.y -= SMALL * LEADING + 6.0;
    }

    fn lines(&mut self) {
        self.make_room(SMALL * LEADING + 6.0 + BODY * LEADING * 2.0);
        self.in_table = true;
        self.table_header();
        if self.doc.lines.is_empty() {
            self.text(LEFT, self.y, DETAIL, b"No lines");
            self.advance(BODY);
        }
        for line in &self.doc.lines {
            self.line(line);
        }
        self.in_table = false;
        self.y -= 6.0;
    }

    fn line(&mut self, line: &DocumentLine) {
        let minor_units = self.doc.minor_units;
        let description = wrap(&line.description, BODY_TEXT, DESCRIPTION_WIDTH, MAX_DESCRIPTION_LINES);
        let mut details: Vec<Row> = Vec::new();
        if let Some(name) = &line.for_customer {
            let text = format::for_customer(name);
            for row in wrap(&text, DETAIL, DESCRIPTION_WIDTH - INDENT, 2) {
                details.push(Row::label(row));
            }
        }
        if let Some(period) = line.period {
            details.push(Row::label(helvetica::encode(&format::period(period))));
        }
        for tier in &line.tiers {
            let label = wrap(
                &format::tier_label(tier, minor_units),
                DETAIL,
                DESCRIPTION_WIDTH - INDENT,
                1,
            );
            details.push(Row {
                label: label.into_iter().next().unwrap_or_default(),
                quantity: Some(format::quantity(tier.quantity)),
                unit: Some(format::unit_price(tier.unit_amount, minor_units)),
                amount: Some(format::amount(tier.amount, minor_units)),
            });
        }
        for (label, value) in &line.adjustments {
            let label = wrap(label, DETAIL, DESCRIPTION_WIDTH - INDENT, 1);
            details.push(Row {
                label: label.into_iter().next().unwrap_or_default(),
                quantity: None,
                unit: None,
                amount: Some(format::amount(*value, minor_units)),
            });
        }

        // Keep a line with its details on one page when it fits on one.
        let height = description.len().max(1) as f32 * BODY * LEADING + details.len() as f32 * SMALL * LEADING + 6.0;
        if height <= TOP - self.bottom - 60.0 {
            self.make_room(height);
        }

        self.make_room(BODY * LEADING);
        let first = self.y;
        self.text_right(
            QUANTITY_RIGHT,
            first,
            BODY_TEXT,
            format::quantity(line.quantity).as_bytes(),
            FIGURE_WIDTH,
        );
        if let Some(unit) = line.unit_amount {
            let unit = format::unit_price(unit, minor_units);
            self.text_right(UNIT_RIGHT, first, BODY_TEXT, unit.as_bytes(), FIGURE_WIDTH);
        }
        let amount = format::amount(line.amount, minor_units);
        self.text_right(AMOUNT_RIGHT, first, BODY_TEXT, amount.as_bytes(), FIGURE_WIDTH);
        for (index, row) in description.iter().enumerate() {
            if index > 0 {
                self.make_room(BODY * LEADING);
            }
            self.text(LEFT, self.y, BODY_TEXT, row);
            self.advance(BODY);
        }
        if description.is_empty() {
            self.advance(BODY);
        }
        for row in details {
            self.make_room(SMALL * LEADING);
            let y = self.y;
            self.text(LEFT + INDENT, y, DETAIL, &row.label);
            let figures = [
                (QUANTITY_RIGHT, row.quantity),
                (UNIT_RIGHT, row.unit),
                (AMOUNT_RIGHT, row.amount),
            ];
            for (right, figure) in figures {
                if let Some(figure) = figure {
                    self.text_right(right, y, DETAIL, figure.as_bytes(), FIGURE_WIDTH);
                }
            }
            self.advance(SMALL);
        }
        // Between the last row's descenders and the next line's capitals.
        let rule_y = self.y + 6.0;
        self.rule(rule_y, RULE, 0.4);
        self.y = rule_y - 12.0;
    }

    /// The summary rows, kept together on the last page of the lines.
    fn summary(&mut self) {
        let doc = self.doc;
        let rows = &doc.summary;
        let height = rows
            .iter()
            .map(|row| {
                if row.emphasis {
                    11.0 * LEADING + 6.0
                } else {
                    BODY * LEADING
                }
            })
            .sum::<f32>();
        self.make_room(height.min(TOP - self.bottom - 60.0));
        // Wide enough for a discount's coupon name and code, or a tax's name and rate.
        let label_left = RIGHT - 360.0;
        for row in rows {
            let style = if row.emphasis { HEADING } else { BODY_TEXT };
            let size = style.size;
            self.make_room(size * LEADING + 6.0);
            if row.emphasis {
                self.y -= 3.0;
                self.rule_between(label_left, RIGHT, self.y + size + 2.0, RULE, 0.8);
            }
            let y = self.y;
            let label = wrap(&row.label, style, 215.0, 1).into_iter().next().unwrap_or_default();
            self.text(label_left, y, style, &label);
            let figure = format::money(row.amount, &doc.currency, doc.minor_units);
            self.text_right(RIGHT, y, style, &helvetica::encode(&figure), 135.0);
            self.advance(size);
            if row.emphasis {
                self.y -= 3.0;
            }
        }
        self.y -= 10.0;
    }

    fn payments(&mut self) {
        let doc = self.doc;
        if doc.payments.is_empty() {
            return;
        }
        self.make_room(11.0 * LEADING + SMALL * LEADING + BODY * LEADING + 6.0);
        self.text(LEFT, self.y, HEADING, b"Payments");
        self.advance(11.0);
        let method_left = LEFT + 80.0;
        let reference_left = LEFT + 200.0;
        let header = self.y;
        self.text(LEFT, header, LABEL, b"DATE");
        self.text(method_left, header, LABEL, b"METHOD");
        self.text(reference_left, header, LABEL, b"REFERENCE");
        self.text_right(RIGHT, header, LABEL, b"AMOUNT", FIGURE_WIDTH);
        self.rule(header - 4.0, RULE, 0.8);
        self.y -= SMALL * LEADING + 6.0;
        for payment in &doc.payments {
            self.make_room(BODY * LEADING);
            let y = self.y;
            self.text(LEFT, y, BODY_TEXT, format::date(payment.paid_at).as_bytes());
            let method = wrap(&payment.method, BODY_TEXT, reference_left - method_left - 8.0, 1);
            self.text(method_left, y, BODY_TEXT, method.first().map_or(&[][..], Vec::as_slice));
            if let Some(reference) = &payment.reference {
                let reference = wrap(reference, BODY_TEXT, RIGHT - FIGURE_WIDTH - 8.0 - reference_left, 1);
                self.text(
                    reference_left,
                    y,
                    BODY_TEXT,
                    reference.first().map_or(&[][..], Vec::as_slice),
                );
            }
            let amount = format::amount(payment.amount, doc.minor_units);
            self.text_right(RIGHT, y, BODY_TEXT, amount.as_bytes(), FIGURE_WIDTH);
            self.advance(BODY);
        }
    }

    /// The watermark word large across the top of the page. Set level
    /// rather than diagonally across the figures: text extraction reads a
    /// diagonal word into the middle of the table and tears its rows apart.
    fn watermark(&mut self, word: &str) {
        let encoded = helvetica::encode(word);
        let style = fitted(WATERMARK, &encoded, RIGHT - LEFT);
        let baseline = self.y - 0.718 * WATERMARK_SIZE;
        self.text((PAGE_WIDTH - style.width(&encoded)) / 2.0, baseline, style, &encoded);
        self.y = baseline - 24.0;
    }

    fn text(&mut self, x: f32, y: f32, style: Style, encoded: &[u8]) {
        if !encoded.is_empty() {
            draw_text(self.content(), x, y, style, encoded);
        }
    }

    /// Text ending at `right`; shrunk to fit `max_width` rather than run into
    /// the next column (a figure is never cut).
    fn text_right(&mut self, right: f32, y: f32, style: Style, encoded: &[u8], max_width: f32) {
        let style = fitted(style, encoded, max_width);
        self.text(right - style.width(encoded), y, style, encoded);
    }

    fn rule(&mut self, y: f32, gray: f32, thickness: f32) {
        self.rule_between(LEFT, RIGHT, y, gray, thickness);
    }

    fn rule_between(&mut self, from: f32, to: f32, y: f32, gray: f32, thickness: f32) {
        let content = self.content();
        content.set_stroke_gray(gray);
        content.set_line_width(thickness);
        content.move_to(from, y);
        content.line_to(to, y);
        content.stroke();
    }

    /// Adds the footer and page numbers, now that the page count is known,
    /// and writes the file.
    fn finish(mut self) -> Vec<u8> {
        let total = self.pages.len();
        for (index, page) in self.pages.iter_mut().enumerate() {
            let mut y = PAGE_NUMBER_BASELINE + SMALL * LEADING * self.footer.len() as f32;
            for row in &self.footer {
                draw_text(page, LEFT, y, DETAIL, row);
                y -= SMALL * LEADING;
            }
            let number = format!("Page {} of {}", index + 1, total);
            let x = RIGHT - DETAIL.width(number.as_bytes());
            draw_text(page, x, PAGE_NUMBER_BASELINE, DETAIL, number.as_bytes());
        }
        write_file(self.doc, self.pages)
    }
}

/// One row under a line item: a label and up to three figures.
struct Row {
    label: Vec<u8>,
    quantity: Option<String>,
    unit: Option<String>,
    amount: Option<String>,
}

impl Row {
    fn label(label: Vec<u8>) -> Self {
        Row {
            label,
            quantity: None,
            unit: None,
            amount: None,
        }
    }
}

fn draw_text(content: &mut Content, x: f32, y: f32, style: Style, encoded: &[u8]) {
    let font = match style.face {
        Face::Regular => REGULAR_FONT,
        Face::Bold => BOLD_FONT,
    };
    content.set_fill_gray(style.gray);
    content.begin_text();
    content.set_font(font, style.size);
    content.set_text_matrix([1.0, 0.0, 0.0, 1.0, x, y]);
    content.show(Str(encoded));
    content.end_text();
}

/// `style` made small enough for `encoded` to fit `max_width`.
fn fitted(style: Style, encoded: &[u8], max_width: f32) -> Style {
    let natural = style.width(encoded);
    if natural > max_width {
        style.resized(style.size * max_width / natural)
    } else {
        style
    }
}

fn write_file(doc: &Document, pages: Vec<Content>) -> Vec<u8> {
    let catalog_id = Ref::new(1);
    let tree_id = Ref::new(2);
    let regular_id = Ref::new(3);
    let bold_id = Ref::new(4);
    let info_id = Ref::new(5);
    let first_page = 6;
    let page_ids: Vec<Ref> = (0..pages.len())
        .map(|index| Ref::new(first_page + 2 * index as i32))
        .collect();

    let mut pdf = Pdf::new();
    pdf.catalog(catalog_id).pages(tree_id);
    pdf.pages(tree_id)
        .kids(page_ids.iter().copied())
        .count(pages.len() as i32);
    for (id, face) in [(regular_id, Face::Regular), (bold_id, Face::Bold)] {
        pdf.type1_font(id)
            .base_font(Name(face.base_font()))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    let title = format!("{} {}", format::title(doc.kind), format::number(doc));
    pdf.document_info(info_id)
        .title(TextStr(&title))
        .producer(TextStr("billgraph"));

    for (page_id, content) in page_ids.into_iter().zip(pages) {
        let content_id = Ref::new(page_id.get() + 1);
        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT));
        page.parent(tree_id);
        page.contents(content_id);
        let mut resources = page.resources();
        resources
            .fonts()
            .pair(REGULAR_FONT, regular_id)
            .pair(BOLD_FONT, bold_id);
        resources.finish();
        page.finish();
        pdf.stream(content_id, &content.finish());
    }
    pdf.finish()
}

/// `text` encoded and broken into rows no wider than `width`, at spaces
/// where it can and inside a word that alone is too wide. More than
/// `max_rows` rows are cut, the last one ending in "...".
fn wrap(text: &str, style: Style, width: f32, max_rows: usize) -> Vec<Vec<u8>> {
    let encoded = helvetica::encode(text);
    let mut rows: Vec<Vec<u8>> = Vec::new();
    let mut row: Vec<u8> = Vec::new();
    let mut row_width = 0.0;
    let space = style.width(b" ");
    for word in encoded.split(|&byte| byte == b' ').filter(|word| !word.is_empty()) {
        let word_width = style.width(word);
        if !row.is_empty() && row_width + space + word_width <= width {
            row.push(b' ');
            row.extend_from_slice(word);
            row_width += space + word_width;
            continue;
        }
        if !row.is_empty() {
            rows.push(std::mem::take(&mut row));
            if rows.len() > max_rows {
                break;
            }
        }
        row_width = 0.0;
        for &byte in word {
            let byte_width = style.width(&[byte]);
            if !row.is_empty() && row_width + byte_width > width {
                rows.push(std::mem::take(&mut row));
                row_width = 0.0;
                if rows.len() > max_rows {
                    break;
                }
            }
            row.push(byte);
            row_width += byte_width;
        }
        if rows.len() > max_rows {
            break;
        }
    }
    if !row.is_empty() && rows.len() <= max_rows {
        rows.push(row);
    }
    if rows.len() > max_rows {
        rows.truncate(max_rows);
        if let Some(last) = rows.last_mut() {
            let ellipsis = style.width(b"...");
            while !last.is_empty() && style.width(last) + ellipsis > width {
                last.pop();
            }
            last.extend_from_slice(b"...");
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::*;
    use crate::documents::format;
    use crate::documents::model::{DocumentTier, SummaryRow};
    use crate::documents::samples::{self, dec, pdf_text};

    /// The text row that starts with `start`, its words split on runs of spaces.
    fn row_starting<'t>(text: &'t str, start: &str) -> Vec<&'t str> {
        let row = text
            .lines()
            .map(str::trim_start)
            .find(|row| row.starts_with(start))
            .unwrap_or_else(|| panic!("no row starts with {start:?} in:\n{text}"));
        row[start.len()..].split_whitespace().collect()
    }

    #[test]
    fn the_text_holds_every_fact_of_the_invoice() {
        let doc = samples::invoice();
        let text = pdf_text(&render_pdf(&doc));

        for fact in [
            "Invoice",
            "INV-000042",
            "Acme Metering GmbH",
            "Hauptstrasse 5",
            "10115 Berlin",
            "Germany",
            "billing@acme.example",
            "Tax ID: DE123456789",
            "Globex Corporation",
            "1 Market Street",
            "San Francisco CA 94105",
            "United States",
            "ap@globex.example",
            "Tax ID: US-98-7654321",
            "Issue date: 2026-12-01",
            "Due date: 2026-12-15",
            "Period: 2026-11-01 to 2026-12-01",
            "Amounts in USD",
            "Thank you for your business.",
            "for Globex Labs",
            "Acme Metering GmbH, Amtsgericht Berlin HRB 12345. Pay within 14 days.",
            "Page 1 of 1",
        ] {
            assert!(text.contains(fact), "{fact:?} missing from:\n{text}");
        }
        assert!(!text.contains("DRAFT") && !text.contains("VOID"), "{text}");

        // Each line's row: description, quantity, unit price when it has one, amount.
        assert_eq!(row_starting(&text, "Pro plan"), ["1", "1000.00", "1000.00"]);
        assert_eq!(row_starting(&text, "API calls"), ["1500", "145.75"]);
        assert_eq!(row_starting(&text, "Storage GB-months"), ["2.5", "40.00", "100.00"]);
        assert_eq!(row_starting(&text, "1 to 1000"), ["1000", "0.10", "100.00"]);
        assert_eq!(
            row_starting(&text, "1001 and above (flat fee 5.00)"),
            ["500", "0.0815", "45.75"]
        );
        assert_eq!(row_starting(&text, "Discount SPRING20   "), ["-200.00"]);
        assert_eq!(row_starting(&text, "VAT 19%    "), ["152.00"]);

        for row in &doc.summary {
            let figure = format::money(row.amount, "USD", 2);
            let found = text.lines().any(|printed| {
                let printed = printed.trim();
                printed.starts_with(&row.label) && printed.ends_with(&figure)
            });
            assert!(found, "summary row {} {figure} missing from:\n{text}", row.label);
        }
        assert_eq!(row_starting(&text, "2026-12-03"), ["CARD", "ch_3PzXy", "500.00"]);
    }

    #[test]
    fn amounts_line_up_on_the_right() {
        let text = pdf_text(&render_pdf(&samples::invoice()));
        let ends: Vec<usize> = ["Pro plan", "API calls", "Storage GB-months"]
            .iter()
            .map(|start| {
                text.lines()
                    .find(|row| row.trim_start().starts_with(start))
                    .unwrap()
                    .trim_end()
                    .len()
            })
            .collect();
        assert!(ends.windows(2).all(|pair| pair[0] == pair[1]), "{ends:?} in:\n{text}");
    }

    #[test]
    fn a_long_invoice_spans_numbered_pages_with_the_totals_once_at_the_end() {
        let doc = samples::long_invoice(100);
        let text = pdf_text(&render_pdf(&doc));

        let pages = text
            .split('\u{c}')
            .filter(|page| !page.trim().is_empty())
            .collect::<Vec<_>>();
        assert!(pages.len() >= 3, "100 lines fit on {} pages", pages.len());
        for (index, page) in pages.iter().enumerate() {
            let numbered = format!("Page {} of {}", index + 1, pages.len());
            assert!(page.contains(&numbered), "{numbered:?} missing from page:\n{page}");
            assert!(
                page.contains("Pay within 14 days."),
                "the footer is missing from page:\n{page}"
            );
        }
        // Every page the table runs on repeats its header.
        let table_pages = pages.iter().filter(|page| page.contains("Line item")).count();
        assert!(table_pages >= 2);
        assert_eq!(text.matches("DESCRIPTION").count(), table_pages);

        for (index, line) in doc.lines.iter().enumerate() {
            let start = format!("Line item {} ", index + 1);
            let unit = "1.01".to_string();
            assert_eq!(
                row_starting(&text, &start),
                [format::quantity(line.quantity), unit, format::amount(line.amount, 2)],
            );
        }
        assert_eq!(text.matches("Amount due").count(), 1);
        assert_eq!(text.matches("Subtotal").count(), 1);
        let last = pages.last().unwrap();
        assert!(last.contains("Amount due") && last.contains("USD 5100.50"), "{last}");
    }

    #[test]
    fn a_draft_is_marked_draft_and_a_void_one_void() {
        let mut draft = samples::invoice();
        draft.watermark = Some("DRAFT".into());
        draft.number = None;
        let text = pdf_text(&render_pdf(&draft));
        assert!(text.contains("DRAFT"), "{text}");
        assert!(text.contains("Draft"), "{text}");
        assert!(!text.contains("INV-"), "{text}");
        // The mark does not get in the way of the figures.
        assert_eq!(row_starting(&text, "Pro plan"), ["1", "1000.00", "1000.00"]);

        let mut void = samples::invoice();
        void.watermark = Some("VOID".into());
        let text = pdf_text(&render_pdf(&void));
        assert!(text.contains("VOID") && text.contains("INV-000042"), "{text}");
    }

    #[test]
    fn a_credit_note_is_titled_so() {
        let mut note = samples::invoice();
        note.kind = crate::documents::model::DocumentKind::CreditNote;
        note.number = Some("CN-000007".into());
        let text = pdf_text(&render_pdf(&note));
        assert!(text.contains("Credit note") && text.contains("CN-000007"), "{text}");
    }

    #[test]
    fn yen_and_dinar_amounts_have_their_minor_units() {
        let mut yen = samples::invoice();
        yen.currency = "JPY".into();
        yen.minor_units = 0;
        yen.lines.truncate(1);
        yen.lines[0].unit_amount = Some(dec("1500"));
        yen.lines[0].amount = dec("1500");
        yen.lines[0].adjustments = vec![("Consumption tax 10%".into(), dec("150"))];
        yen.summary = vec![SummaryRow {
            label: "Amount due".into(),
            amount: dec("1650"),
            emphasis: true,
        }];
        let text = pdf_text(&render_pdf(&yen));
        assert_eq!(row_starting(&text, "Pro plan"), ["1", "1500", "1500"]);
        assert_eq!(row_starting(&text, "Consumption tax 10%"), ["150"]);
        assert_eq!(row_starting(&text, "Amount due"), ["JPY", "1650"]);
        assert!(text.contains("Amounts in JPY"));

        let mut dinar = yen.clone();
        dinar.currency = "KWD".into();
        dinar.minor_units = 3;
        dinar.lines[0].unit_amount = Some(dec("1.5"));
        dinar.lines[0].amount = dec("1.5");
        dinar.lines[0].adjustments = vec![];
        dinar.summary = vec![SummaryRow {
            label: "Amount due".into(),
            amount: dec("-1.5"),
            emphasis: true,
        }];
        let text = pdf_text(&render_pdf(&dinar));
        assert_eq!(row_starting(&text, "Pro plan"), ["1", "1.500", "1.500"]);
        assert_eq!(row_starting(&text, "Amount due"), ["KWD", "-1.500"]);
    }

    #[test]
    fn western_european_text_prints_and_other_scripts_become_question_marks() {
        let mut doc = samples::invoice();
        doc.recipient.name = "Müller & Söhne – Café".into();
        doc.lines[0].description = "Überweisung 株式会社".into();
        let text = pdf_text(&render_pdf(&doc));
        assert!(text.contains("Müller & Söhne – Café"), "{text}");
        assert!(text.contains("Überweisung ????"), "{text}");
    }

    #[test]
    fn long_descriptions_wrap_inside_their_column_and_are_cut_at_last() {
        let mut doc = samples::invoice();
        doc.lines[0].description = "word ".repeat(40).trim_end().to_string();
        doc.lines[1].description = "x".repeat(5000);
        let text = pdf_text(&render_pdf(&doc));
        // The wrapped description never runs into the figures.
        assert_eq!(
            row_starting(&text, "word word"),
            ["word"; 8]
                .iter()
                .copied()
                .chain(["1", "1000.00", "1000.00"])
                .collect::<Vec<_>>()
        );
        let cut = text.lines().filter(|row| row.trim_start().starts_with("xxx")).count();
        assert_eq!(cut, MAX_DESCRIPTION_LINES);
        assert!(text.contains("x..."), "{text}");
    }

    #[test]
    fn hostile_input_renders_without_panicking() {
        let mut doc = samples::invoice();
        doc.watermark = Some("W".repeat(500));
        doc.issuer.name = "\u{0}\u{1b}[31m\r\n\t".into();
        doc.recipient = Party::default();
        doc.notes = vec![String::new(), "🧾".repeat(3000)];
        doc.footer = Some("f ".repeat(10_000));
        doc.lines[0].description = String::new();
        doc.lines[0].amount = Decimal::MAX;
        doc.lines[0].quantity = Decimal::MIN;
        doc.lines[0].unit_amount = Some(Decimal::new(1, 28));
        doc.lines[1].tiers = (0..500)
            .map(|index| DocumentTier {
                label: format!("tier {index}"),
                quantity: Decimal::from(index),
                unit_amount: Decimal::ONE,
                flat_amount: Decimal::MAX,
                amount: Decimal::MIN,
            })
            .collect();
        doc.summary.push(SummaryRow {
            label: "x".repeat(1000),
            amount: Decimal::MIN,
            emphasis: true,
        });
        doc.minor_units = u32::MAX;
        let pdf = render_pdf(&doc);
        assert!(pdf.starts_with(b"%PDF-"));
        let text = pdf_text(&pdf);
        assert!(text.contains("79228162514264337593543950335"), "{text}");
        assert!(text.contains("tier 499"));

        let mut empty = samples::invoice();
        empty.lines.clear();
        empty.summary.clear();
        empty.payments.clear();
        empty.notes.clear();
        empty.footer = None;
        empty.issuer = Party::default();
        let text = pdf_text(&render_pdf(&empty));
        assert!(text.contains("No lines") && text.contains("Page 1 of 1"), "{text}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        #[test]
        fn any_document_renders_to_a_whole_pdf(doc in samples::any_document()) {
            let pdf = render_pdf(&doc);
            proptest::prop_assert!(pdf.starts_with(b"%PDF-"));
            proptest::prop_assert!(pdf.trim_ascii_end().ends_with(b"%%EOF"));
        }
    }
}
