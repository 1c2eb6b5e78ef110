//! Customer metadata: a flat JSON object of string values that clients use
//! to attach their own labels. Limits keep rows small and filters cheap.

use serde_json::{Map, Value};

use crate::domain::validation::ValidationError;

pub const MAX_KEYS: usize = 50;
pub const MAX_KEY_LEN: usize = 40;
pub const MAX_VALUE_LEN: usize = 500;

/// Sorted so stored and returned JSON always lists keys in the same order.
pub type Metadata = std::collections::BTreeMap<String, String>;

/// Metadata given on create: every value must be a string.
pub fn parse_metadata(field: &str, value: &Value) -> Result<Metadata, ValidationError> {
    parse_string_map(field, value, "must be a string (null only deletes keys on update)")
}

/// Metadata given on update: a string sets a key, null removes it, and keys
/// not mentioned are kept.
pub fn apply_metadata_patch(field: &str, current: &Metadata, patch: &Value) -> Result<Metadata, ValidationError> {
    let patch = as_object(field, patch)?;
    let mut result = current.clone();
    for (key, value) in patch {
        match value {
            // Deleting is not checked against the key rules, so keys stored
            // under looser past rules can still be removed.
            Value::Null => {
                result.remove(key);
            }
            Value::String(s) => {
                check_entry(field, key, s)?;
                result.insert(key.clone(), s.clone());
            }
            other => {
                return Err(ValidationError::new(
                    key_field(field, key),
                    format!("must be a string, or null to delete the key, not {}", json_type(other)),
                ));
            }
        }
    }
    // The limit is on what gets stored, so a patch may delete and add in one go.
    if result.len() > MAX_KEYS {
        return Err(ValidationError::new(
            field,
            format!(
                "must have at most {MAX_KEYS} keys (the update would leave {})",
                result.len()
            ),
        ));
    }
    Ok(result)
}

/// Metadata used to filter customers: every pair given must match exactly.
/// Null has no meaning in a filter, so it is refused rather than ignored.
pub fn parse_metadata_filter(field: &str, value: &Value) -> Result<Metadata, ValidationError> {
    parse_string_map(field, value, "must be a string, not null")
}

pub fn metadata_to_json(m: &Metadata) -> Value {
    Value::Object(m.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect())
}

fn parse_string_map(field: &str, value: &Value, null_message: &str) -> Result<Metadata, ValidationError> {
    let object = as_object(field, value)?;
    // Checked first so an oversized object is refused before any other work.
    if object.len() > MAX_KEYS {
        return Err(ValidationError::new(
            field,
            format!("must have at most {MAX_KEYS} keys"),
        ));
    }
    let mut out = Metadata::new();
    for (key, value) in object {
        let Value::String(s) = value else {
            let message = match value {
                Value::Null => null_message.to_owned(),
                other => format!("must be a string, not {}", json_type(other)),
            };
            return Err(ValidationError::new(key_field(field, key), message));
        };
        check_entry(field, key, s)?;
        out.insert(key.clone(), s.clone());
    }
    Ok(out)
}

fn as_object<'a>(field: &str, value: &'a Value) -> Result<&'a Map<String, Value>, ValidationError> {
    value.as_object().ok_or_else(|| {
        ValidationError::new(
            field,
            format!("must be an object of string values, not {}", json_type(value)),
        )
    })
}

fn check_entry(field: &str, key: &str, value: &str) -> Result<(), ValidationError> {
    let err = |message: String| Err(ValidationError::new(key_field(field, key), message));
    if key.is_empty() {
        return err("key must not be empty".to_owned());
    }
    if key.chars().count() > MAX_KEY_LEN {
        return err(format!("key must be at most {MAX_KEY_LEN} characters"));
    }
    if key.chars().any(char::is_control) {
        return err("key must not contain control characters".to_owned());
    }
    if value.chars().count() > MAX_VALUE_LEN {
        return err(format!("must be at most {MAX_VALUE_LEN} characters"));
    }
    Ok(())
}

/// The error path for one key. A key over the limit is cut so a hostile key
/// cannot bloat the error, and control characters are escaped so the path
/// stays printable on one line.
fn key_field(field: &str, key: &str) -> String {
    let mut path = format!("{field}.");
    for c in key.chars().take(MAX_KEY_LEN) {
        if c.is_control() {
            path.extend(c.escape_default());
        } else {
            path.push(c);
        }
    }
    if key.chars().nth(MAX_KEY_LEN).is_some() {
        path.push('…');
    }
    path
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const F: &str = "input.metadata";

    fn meta(pairs: &[(&str, &str)]) -> Metadata {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// An object with `n` distinct string entries.
    fn object_with_keys(n: usize) -> Value {
        Value::Object((0..n).map(|i| (format!("k{i}"), json!("v"))).collect())
    }

    fn metadata_with_keys(n: usize) -> Metadata {
        (0..n).map(|i| (format!("k{i}"), "v".to_owned())).collect()
    }

    fn err(field: &str, message: &str) -> ValidationError {
        ValidationError::new(field, message)
    }

    /// Limits that parse_metadata and parse_metadata_filter share, as
    /// (input, expected) pairs.
    fn shared_cases() -> Vec<(Value, Result<Metadata, ValidationError>)> {
        let key40 = "k".repeat(40);
        let key41 = "k".repeat(41);
        let ukey40 = "ключ".repeat(10);
        let ukey41 = format!("{ukey40}й");
        let v500 = "v".repeat(500);
        let v501 = "v".repeat(501);
        let uv500 = "€".repeat(500);
        let uv501 = "€".repeat(501);
        let too_long_key = "key must be at most 40 characters";
        let too_long_value = "must be at most 500 characters";
        vec![
            (json!({}), Ok(Metadata::new())),
            (
                json!({"plan": "pro", "region": "eu"}),
                Ok(meta(&[("plan", "pro"), ("region", "eu")])),
            ),
            (json!({"note": ""}), Ok(meta(&[("note", "")]))),
            (json!({"multi line": "a\nb"}), Ok(meta(&[("multi line", "a\nb")]))),
            (object_with_keys(50), Ok(metadata_with_keys(50))),
            (object_with_keys(51), Err(err(F, "must have at most 50 keys"))),
            (json!({ key40.clone(): "x" }), Ok(meta(&[(&key40, "x")]))),
            (
                json!({ key41.clone(): "x" }),
                Err(err(&format!("{F}.{key40}…"), too_long_key)),
            ),
            (json!({ ukey40.clone(): "x" }), Ok(meta(&[(&ukey40, "x")]))),
            (
                json!({ ukey41.clone(): "x" }),
                Err(err(&format!("{F}.{ukey40}…"), too_long_key)),
            ),
            (json!({"k": v500.clone()}), Ok(meta(&[("k", &v500)]))),
            (json!({"k": v501}), Err(err(&format!("{F}.k"), too_long_value))),
            (json!({"k": uv500.clone()}), Ok(meta(&[("k", &uv500)]))),
            (json!({"k": uv501}), Err(err(&format!("{F}.k"), too_long_value))),
            (json!({"": "x"}), Err(err(&format!("{F}."), "key must not be empty"))),
            (
                json!({"a\nb": "x"}),
                Err(err(&format!("{F}.a\\nb"), "key must not contain control characters")),
            ),
            (
                json!({"plan": 3}),
                Err(err(&format!("{F}.plan"), "must be a string, not a number")),
            ),
            (
                json!({"plan": true}),
                Err(err(&format!("{F}.plan"), "must be a string, not a boolean")),
            ),
            (
                json!({"plan": ["pro"]}),
                Err(err(&format!("{F}.plan"), "must be a string, not an array")),
            ),
            (
                json!({"plan": {"tier": "pro"}}),
                Err(err(&format!("{F}.plan"), "must be a string, not an object")),
            ),
        ]
    }

    fn non_objects() -> Vec<(Value, &'static str)> {
        vec![
            (json!(null), "must be an object of string values, not null"),
            (json!("plan=pro"), "must be an object of string values, not a string"),
            (json!(42), "must be an object of string values, not a number"),
            (json!(false), "must be an object of string values, not a boolean"),
            (
                json!([{"plan": "pro"}]),
                "must be an object of string values, not an array",
            ),
        ]
    }

    #[test]
    fn parse_metadata_table() {
        for (input, want) in shared_cases() {
            assert_eq!(parse_metadata(F, &input), want, "{input}");
        }
    }

    #[test]
    fn parse_metadata_filter_table() {
        for (input, want) in shared_cases() {
            assert_eq!(parse_metadata_filter(F, &input), want, "{input}");
        }
    }

    #[test]
    fn null_is_refused_on_create_and_in_filters() {
        assert_eq!(
            parse_metadata(F, &json!({"plan": null})),
            Err(err(
                "input.metadata.plan",
                "must be a string (null only deletes keys on update)"
            ))
        );
        assert_eq!(
            parse_metadata_filter(F, &json!({"plan": null})),
            Err(err("input.metadata.plan", "must be a string, not null"))
        );
    }

    #[test]
    fn non_objects_are_refused_everywhere() {
        let current = meta(&[("plan", "pro")]);
        for (input, message) in non_objects() {
            let want = Err(err(F, message));
            assert_eq!(parse_metadata(F, &input), want, "{input}");
            assert_eq!(parse_metadata_filter(F, &input), want, "{input}");
            assert_eq!(apply_metadata_patch(F, &current, &input), want, "{input}");
        }
    }

    #[test]
    fn apply_metadata_patch_table() {
        let current = meta(&[("plan", "pro"), ("region", "eu")]);
        let key40 = "k".repeat(40);
        let key41 = "k".repeat(41);
        let not_string = "must be a string, or null to delete the key";
        let cases: Vec<(Value, Result<Metadata, ValidationError>)> = vec![
            (json!({}), Ok(current.clone())),
            (
                json!({"seats": "10"}),
                Ok(meta(&[("plan", "pro"), ("region", "eu"), ("seats", "10")])),
            ),
            (
                json!({"plan": "enterprise"}),
                Ok(meta(&[("plan", "enterprise"), ("region", "eu")])),
            ),
            (json!({"plan": null}), Ok(meta(&[("region", "eu")]))),
            (json!({"absent": null}), Ok(current.clone())),
            (json!({"plan": null, "region": null}), Ok(Metadata::new())),
            (
                json!({"plan": null, "tier": "gold"}),
                Ok(meta(&[("region", "eu"), ("tier", "gold")])),
            ),
            (json!({"plan": ""}), Ok(meta(&[("plan", ""), ("region", "eu")]))),
            // Deleting a key that could never have been stored is a no-op.
            (json!({ key41.clone(): null }), Ok(current.clone())),
            (json!({"": null}), Ok(current.clone())),
            (
                json!({ key40.clone(): "x" }),
                Ok(meta(&[(&key40, "x"), ("plan", "pro"), ("region", "eu")])),
            ),
            (
                json!({ key41.clone(): "x" }),
                Err(err(&format!("{F}.{key40}…"), "key must be at most 40 characters")),
            ),
            (json!({"": "x"}), Err(err(&format!("{F}."), "key must not be empty"))),
            (
                json!({"a\u{1}": "x"}),
                Err(err(
                    &format!("{F}.a\\u{{1}}"),
                    "key must not contain control characters",
                )),
            ),
            (
                json!({"plan": "p".repeat(500)}),
                Ok(meta(&[("plan", &"p".repeat(500)), ("region", "eu")])),
            ),
            (
                json!({"plan": "p".repeat(501)}),
                Err(err(&format!("{F}.plan"), "must be at most 500 characters")),
            ),
            (
                json!({"plan": "ö".repeat(501)}),
                Err(err(&format!("{F}.plan"), "must be at most 500 characters")),
            ),
            (
                json!({"plan": 1}),
                Err(err(&format!("{F}.plan"), &format!("{not_string}, not a number"))),
            ),
            (
                json!({"plan": false}),
                Err(err(&format!("{F}.plan"), &format!("{not_string}, not a boolean"))),
            ),
            (
                json!({"plan": []}),
                Err(err(&format!("{F}.plan"), &format!("{not_string}, not an array"))),
            ),
            (
                json!({"plan": {}}),
                Err(err(&format!("{F}.plan"), &format!("{not_string}, not an object"))),
            ),
        ];
        for (patch, want) in cases {
            assert_eq!(apply_metadata_patch(F, &current, &patch), want, "{patch}");
        }
    }

    #[test]
    fn patch_key_limit_applies_to_the_result() {
        let full = metadata_with_keys(50);
        let too_many = "must have at most 50 keys (the update would leave 51)";
        let cases: Vec<(Metadata, Value, Result<usize, &str>)> = vec![
            (metadata_with_keys(49), json!({"new": "v"}), Ok(50)),
            (full.clone(), json!({"new": "v"}), Err(too_many)),
            (full.clone(), json!({"k0": "changed"}), Ok(50)),
            (full.clone(), json!({"k0": null, "new": "v"}), Ok(50)),
            (full.clone(), json!({"k0": null}), Ok(49)),
            (Metadata::new(), object_with_keys(50), Ok(50)),
            (Metadata::new(), object_with_keys(51), Err(too_many)),
            // Over the limit on the way in is fine if the result fits.
            (metadata_with_keys(51), json!({"k0": null}), Ok(50)),
        ];
        for (current, patch, want) in cases {
            let got = apply_metadata_patch(F, &current, &patch).map(|m| m.len());
            assert_eq!(got, want.map_err(|m| err(F, m)), "{} keys + {patch}", current.len());
        }
    }

    #[test]
    fn metadata_to_json_table() {
        let cases = [
            (Metadata::new(), json!({})),
            (meta(&[("plan", "pro")]), json!({"plan": "pro"})),
            (
                meta(&[("b", "2"), ("a", "1"), ("ü", "ß")]),
                json!({"a": "1", "b": "2", "ü": "ß"}),
            ),
        ];
        for (m, want) in cases {
            assert_eq!(metadata_to_json(&m), want);
        }
    }

    #[test]
    fn key_field_table() {
        let k40 = "x".repeat(40);
        let cases = [
            ("plan", "input.metadata.plan".to_owned()),
            ("", "input.metadata.".to_owned()),
            (k40.as_str(), format!("input.metadata.{k40}")),
            (&format!("{k40}y"), format!("input.metadata.{k40}…")),
            (&"x".repeat(10_000), format!("input.metadata.{k40}…")),
            ("tab\there", "input.metadata.tab\\there".to_owned()),
        ];
        for (key, want) in cases {
            assert_eq!(key_field(F, key), want, "{key:?}");
        }
    }

    fn valid_metadata(key_prefix: &'static str) -> impl Strategy<Value = Metadata> {
        // Keys up to 40 characters and values with multi-byte characters,
        // at most 25 entries so two maps together stay within 50 keys.
        prop::collection::btree_map(
            proptest::string::string_regex(&format!("{key_prefix}[a-z0-9_é]{{0,39}}")).unwrap(),
            "\\PC{0,40}",
            0..=25,
        )
    }

    proptest! {
        #[test]
        fn set_then_null_restores_original(
            original in valid_metadata("o"),
            added in valid_metadata("p"),
        ) {
            // The prefixes keep the added keys apart from the original ones,
            // which is what lets deletion undo the addition exactly.
            let set = metadata_to_json(&added);
            let unset = Value::Object(added.keys().map(|k| (k.clone(), Value::Null)).collect());

            let grown = apply_metadata_patch(F, &original, &set).unwrap();
            prop_assert_eq!(grown.len(), original.len() + added.len());
            let back = apply_metadata_patch(F, &grown, &unset).unwrap();
            prop_assert_eq!(back, original);
        }

        #[test]
        fn json_round_trip(m in valid_metadata("k")) {
            prop_assert_eq!(parse_metadata(F, &metadata_to_json(&m)), Ok(m.clone()));
            prop_assert_eq!(parse_metadata_filter(F, &metadata_to_json(&m)), Ok(m));
        }
    }
}
