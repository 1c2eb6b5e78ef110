//! The PDF's two fonts, Helvetica and Helvetica-Bold: text encoded in
//! WinAnsiEncoding and measured with Adobe's published glyph widths.
//!
//! They are two of the fourteen standard fonts every PDF reader has, so no
//! font file is embedded and a document stays a few kilobytes. The price is
//! the character set: WinAnsi (Windows-1252) covers Western European text
//! only. A character outside it prints as '?'; whitespace controls (tab,
//! newline) print as a space and other control characters as '?'.

/// What a character not in WinAnsi is printed as.
pub const REPLACEMENT: u8 = b'?';

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Face {
    Regular,
    Bold,
}

impl Face {
    /// The font's PostScript name in the PDF.
    pub fn base_font(self) -> &'static [u8] {
        match self {
            Face::Regular => b"Helvetica",
            Face::Bold => b"Helvetica-Bold",
        }
    }

    fn widths(self) -> &'static [u16; 224] {
        match self {
            Face::Regular => &REGULAR_WIDTHS,
            Face::Bold => &BOLD_WIDTHS,
        }
    }
}

/// `text` as WinAnsi bytes, one byte per character.
pub fn encode(text: &str) -> Vec<u8> {
    text.chars().map(encode_char).collect()
}

/// The width of WinAnsi-encoded text set at `size` points.
pub fn width(encoded: &[u8], face: Face, size: f32) -> f32 {
    let table = face.widths();
    let units: u32 = encoded
        .iter()
        .map(|&byte| match byte {
            32..=255 => u32::from(table[usize::from(byte - 32)]),
            _ => 0,
        })
        .sum();
    units as f32 * size / 1000.0
}

fn encode_char(c: char) -> u8 {
    let code = u32::from(c);
    match code {
        0x20..=0x7E | 0xA0..=0xFF => code as u8,
        0x09 | 0x0A | 0x0D => b' ',
        _ => windows_1252_extra(c).unwrap_or(REPLACEMENT),
    }
}

/// The characters Windows-1252 places at 0x80-0x9F (Unicode puts C1
/// controls there, so these need a table).
fn windows_1252_extra(c: char) -> Option<u8> {
    Some(match c {
        '€' => 0x80,
        '‚' => 0x82,
        'ƒ' => 0x83,
        '„' => 0x84,
        '…' => 0x85,
        '†' => 0x86,
        '‡' => 0x87,
        'ˆ' => 0x88,
        '‰' => 0x89,
        'Š' => 0x8A,
        '‹' => 0x8B,
        'Œ' => 0x8C,
        'Ž' => 0x8E,
        '‘' => 0x91,
        '’' => 0x92,
        '“' => 0x93,
        '”' => 0x94,
        '•' => 0x95,
        '–' => 0x96,
        '—' => 0x97,
        '˜' => 0x98,
        '™' => 0x99,
        'š' => 0x9A,
        '›' => 0x9B,
        'œ' => 0x9C,
        'ž' => 0x9E,
        'Ÿ' => 0x9F,
        _ => return None,
    })
}

// Advance widths in 1/1000 em for WinAnsi codes 32-255, sixteen a row, from
// Adobe's Helvetica and Helvetica-Bold font metrics (AFM). Codes WinAnsi
// leaves undefined (0x7F, 0x81, 0x8D, 0x8F, 0x90, 0x9D) are never produced by
// `encode`; they carry the bullet's width as readers substitute it.

#[rustfmt::skip]
static REGULAR_WIDTHS: [u16; 224] = [
    // 0x20
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
    // 0x30
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
    // 0x40
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
    // 0x50
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
    // 0x60
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
    // 0x70
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, 350,
    // 0x80
    556, 350, 222, 556, 333, 1000, 556, 556, 333, 1000, 667, 333, 1000, 350, 611, 350,
    // 0x90
    350, 222, 222, 333, 333, 350, 556, 1000, 333, 1000, 500, 333, 944, 350, 500, 667,
    // 0xA0
    278, 333, 556, 556, 556, 556, 260, 556, 333, 737, 370, 556, 584, 333, 737, 333,
    // 0xB0
    400, 584, 333, 333, 333, 556, 537, 278, 333, 333, 365, 556, 834, 834, 834, 611,
    // 0xC0
    667, 667, 667, 667, 667, 667, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278,
    // 0xD0
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611,
    // 0xE0
    556, 556, 556, 556, 556, 556, 889, 500, 556, 556, 556, 556, 278, 278, 278, 278,
    // 0xF0
    556, 556, 556, 556, 556, 556, 556, 584, 611, 556, 556, 556, 556, 500, 556, 500,
];

#[rustfmt::skip]
static BOLD_WIDTHS: [u16; 224] = [
    // 0x20
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278,
    // 0x30
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611,
    // 0x40
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778,
    // 0x50
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556,
    // 0x60
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611,
    // 0x70
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584, 350,
    // 0x80
    556, 350, 278, 556, 500, 1000, 556, 556, 333, 1000, 667, 333, 1000, 350, 611, 350,
    // 0x90
    350, 278, 278, 500, 500, 350, 556, 1000, 333, 1000, 556, 333, 944, 350, 500, 667,
    // 0xA0
    278, 333, 556, 556, 556, 556, 280, 556, 333, 737, 370, 556, 584, 333, 737, 333,
    // 0xB0
    400, 584, 333, 333, 333, 611, 556, 278, 333, 333, 365, 556, 834, 834, 834, 611,
    // 0xC0
    722, 722, 722, 722, 722, 722, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278,
    // 0xD0
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611,
    // 0xE0
    556, 556, 556, 556, 556, 556, 889, 556, 556, 556, 556, 556, 278, 278, 278, 278,
    // 0xF0
    611, 611, 611, 611, 611, 611, 611, 584, 611, 611, 611, 611, 611, 556, 611, 556,
];

#[cfg(test)]
mod tests {
    use super::*;

    fn text_width(text: &str, face: Face, size: f32) -> f32 {
        width(&encode(text), face, size)
    }

    #[test]
    fn latin_text_keeps_its_characters() {
        assert_eq!(encode("Müller & Söhne"), b"M\xFCller & S\xF6hne");
        assert_eq!(encode("€ 5 – “ok”"), b"\x80 5 \x96 \x93ok\x94");
    }

    #[test]
    fn other_characters_become_question_marks() {
        assert_eq!(encode("株式会社"), b"????");
        assert_eq!(encode("a\u{0}b\u{7f}c\u{85}"), b"a?b?c?");
        assert_eq!(encode("line\none\ttab"), b"line one tab");
        assert_eq!(encode("😀"), b"?");
    }

    #[test]
    fn widths_follow_the_font_metrics() {
        // Digits share one width, so amount columns line up.
        assert_eq!(text_width("0123456789", Face::Regular, 10.0), 55.6);
        assert_eq!(text_width("W", Face::Regular, 1000.0), 944.0);
        assert_eq!(text_width("i", Face::Regular, 1000.0), 222.0);
        assert_eq!(text_width("i", Face::Bold, 1000.0), 278.0);
        assert_eq!(
            text_width("Total", Face::Bold, 1000.0),
            (611 + 611 + 333 + 556 + 278) as f32
        );
        assert_eq!(
            text_width("\u{0}", Face::Regular, 10.0),
            text_width("?", Face::Regular, 10.0)
        );
    }
}
