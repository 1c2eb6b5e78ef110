//! The one character rule every text input meets, whatever its field, and
//! the walk that applies it to a whole JSON-like value (keys included).
//!
//! Refused: the C0 control characters U+0000 to U+001F, except tab (U+0009),
//! newline (U+000A) and carriage return (U+000D). PostgreSQL cannot store
//! U+0000 in text or jsonb at all; the other C0 controls are never text
//! (they come from binary data or bugs) and break the exports and terminals
//! that show what is stored. Tab and line breaks are ordinary in free text.
//! Fields with stricter rules (names, ids) keep them on top of this one.

use std::fmt::Write;

use super::validation::ValidationError;

/// Whether `c` may never appear in any text input.
pub fn is_refused_char(c: char) -> bool {
    matches!(c, '\0'..='\u{1f}') && !matches!(c, '\t' | '\n' | '\r')
}

/// Refuses `value` when it holds a character no text input may carry.
pub fn check_text(field: &str, value: &str) -> Result<(), ValidationError> {
    match value.chars().find(|&c| is_refused_char(c)) {
        Some(c) => Err(ValidationError::new(field, refused_message("", c))),
        None => Ok(()),
    }
}

fn refused_message(what: &str, c: char) -> String {
    format!(
        "{what}must not contain the control character U+{:04X} (of the control characters, only tab, newline and carriage return are allowed)",
        u32::from(c)
    )
}

/// What the walk sees of a value: text, a container to look into, or
/// something without text (numbers, booleans, null, enum values).
pub enum Shape<'a, T> {
    Text(&'a str),
    List(Box<dyn Iterator<Item = T> + 'a>),
    Object(Box<dyn Iterator<Item = (&'a str, T)> + 'a>),
    Other,
}

/// A JSON-like value the walk can look into: JSON itself, or the input
/// values of a GraphQL request.
pub trait TextTree<'a>: Sized {
    fn shape(self) -> Shape<'a, Self>;
}

impl<'a> TextTree<'a> for &'a serde_json::Value {
    fn shape(self) -> Shape<'a, Self> {
        use serde_json::Value;
        match self {
            Value::String(s) => Shape::Text(s),
            Value::Array(items) => Shape::List(Box::new(items.iter())),
            Value::Object(map) => Shape::Object(Box::new(map.iter().map(|(k, v)| (k.as_str(), v)))),
            Value::Null | Value::Bool(_) | Value::Number(_) => Shape::Other,
        }
    }
}

/// Refuses the first string or object key in `value` holding a refused
/// character; the error names its path under `field`, as in
/// `input.metadata.region` or `events[3].properties.note`.
pub fn check_text_tree<'a, T: TextTree<'a>>(field: &str, value: T) -> Result<(), ValidationError> {
    let mut steps = Vec::new();
    match first_refused(value, &mut steps) {
        None => Ok(()),
        Some(refused) => {
            let mut path = field.to_owned();
            for step in &steps {
                match step {
                    Step::Key(key) => push_key(&mut path, key),
                    Step::Index(i) => {
                        let _ = write!(path, "[{i}]");
                    }
                }
            }
            let what = if refused.in_key { "key " } else { "" };
            Err(ValidationError::new(path, refused_message(what, refused.char)))
        }
    }
}

enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

struct Refused {
    char: char,
    in_key: bool,
}

/// Depth-first; on a refusal `steps` is left as the path to the culprit.
fn first_refused<'a, T: TextTree<'a>>(value: T, steps: &mut Vec<Step<'a>>) -> Option<Refused> {
    match value.shape() {
        Shape::Text(s) => s
            .chars()
            .find(|&c| is_refused_char(c))
            .map(|char| Refused { char, in_key: false }),
        Shape::List(items) => {
            for (i, item) in items.enumerate() {
                steps.push(Step::Index(i));
                if let Some(refused) = first_refused(item, steps) {
                    return Some(refused);
                }
                steps.pop();
            }
            None
        }
        Shape::Object(entries) => {
            for (key, item) in entries {
                steps.push(Step::Key(key));
                if let Some(char) = key.chars().find(|&c| is_refused_char(c)) {
                    return Some(Refused { char, in_key: true });
                }
                if let Some(refused) = first_refused(item, steps) {
                    return Some(refused);
                }
                steps.pop();
            }
            None
        }
        Shape::Other => None,
    }
}

/// Longest key shown in an error path, so a hostile key cannot bloat it.
const MAX_KEY_IN_PATH: usize = 64;

/// Control characters are escaped so the path stays printable on one line.
fn push_key(path: &mut String, key: &str) {
    path.push('.');
    for c in key.chars().take(MAX_KEY_IN_PATH) {
        if c.is_control() {
            path.extend(c.escape_default());
        } else {
            path.push(c);
        }
    }
    if key.chars().nth(MAX_KEY_IN_PATH).is_some() {
        path.push('…');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn refused_characters_are_the_c0_controls_but_tab_and_line_breaks() {
        for c in (0u32..=0x1f).filter_map(char::from_u32) {
            assert_eq!(is_refused_char(c), !matches!(c, '\t' | '\n' | '\r'), "{c:?}");
        }
        for c in [
            ' ', 'a', '~', '\u{7f}', '\u{85}', 'é', 'ü', '東', '🦀', '\u{200b}', '\u{fffd}',
        ] {
            assert!(!is_refused_char(c), "{c:?}");
        }
    }

    #[test]
    fn check_text_table() {
        let cases: &[(&str, Option<u32>)] = &[
            ("", None),
            ("plain", None),
            ("Zürich\n東京", None),
            ("tab\there\r\n", None),
            ("nul\0", Some(0)),
            ("\u{1}start", Some(1)),
            ("bell\u{7}", Some(7)),
            ("esc\u{1b}[31m", Some(0x1b)),
            ("unit sep\u{1f}", Some(0x1f)),
            ("first wins\u{2}\0", Some(2)),
        ];
        for &(value, refused) in cases {
            let got = check_text("input.note", value);
            match refused {
                None => assert!(got.is_ok(), "{value:?}: {got:?}"),
                Some(code) => {
                    let err = got.expect_err(value);
                    assert_eq!(err.field, "input.note");
                    assert!(err.message.contains(&format!("U+{code:04X}")), "{err}");
                }
            }
        }
    }

    fn refused_at(value: serde_json::Value) -> Option<(String, String)> {
        check_text_tree("input.x", &value).err().map(|e| (e.field, e.message))
    }

    #[test]
    fn the_walk_names_the_path_of_the_first_refused_string() {
        let cases: Vec<(serde_json::Value, Option<&str>)> = vec![
            (json!(null), None),
            (json!(1.5), None),
            (json!("ok\ttext"), None),
            (
                json!({ "region": "eu", "n": 3, "ok": true, "nested": { "l": ["a", "b\n"] } }),
                None,
            ),
            (json!("a\0b"), Some("input.x")),
            (json!({ "region": "e\0u" }), Some("input.x.region")),
            (
                json!({ "a": { "b": [1, "ok", { "c": "\u{1}" }] } }),
                Some("input.x.a.b[2].c"),
            ),
            (json!(["ok", "\0", "\u{2}"]), Some("input.x[1]")),
            (json!({ "first": "\u{3}", "second": "\0" }), Some("input.x.first")),
        ];
        for (value, want) in cases {
            assert_eq!(refused_at(value.clone()).map(|r| r.0).as_deref(), want, "{value}");
        }
    }

    #[test]
    fn keys_are_checked_and_escaped_in_the_path() {
        let (field, message) = refused_at(json!({ "ok": { "k\0ey": 1 } })).unwrap();
        assert_eq!(field, "input.x.ok.k\\u{0}ey");
        assert!(message.starts_with("key must not contain"), "{message}");
        assert!(message.contains("U+0000"), "{message}");
        // Tab and newline are allowed in keys too, by this rule.
        assert_eq!(refused_at(json!({ "a\tb": "x\ny" })), None);
    }

    #[test]
    fn long_keys_are_cut_in_the_path() {
        let key = format!("{}\0", "k".repeat(100));
        let (field, _) = refused_at(json!({ key: 1 })).unwrap();
        assert_eq!(field, format!("input.x.{}…", "k".repeat(MAX_KEY_IN_PATH)));
    }
}
