//! Meters: which events count (event name and property filters) and how
//! they become a number (the aggregation over one property).

use super::ValidationError;
use super::stored::stored_enum;
use super::validation::{check_max_chars, required_text};

pub const MAX_FILTERS: usize = 20;
pub const MAX_FILTER_VALUES: usize = 100;

stored_enum! {
    pub enum Aggregation {
        Count = "COUNT",
        Sum = "SUM",
        Max = "MAX",
        UniqueCount = "UNIQUE_COUNT",
        Latest = "LATEST",
        Avg = "AVG",
    }
}

impl Aggregation {
    /// Whether the aggregation reads a property at all.
    pub fn needs_property(self) -> bool {
        self != Aggregation::Count
    }

    /// Whether the property must hold a number (UNIQUE_COUNT counts any value).
    pub fn needs_number(self) -> bool {
        matches!(
            self,
            Aggregation::Sum | Aggregation::Max | Aggregation::Latest | Aggregation::Avg
        )
    }
}

/// One filter: the event's property `key` must equal one of `values`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterFilter {
    pub key: String,
    pub values: Vec<String>,
}

pub fn validate_event_name(field: &str, value: &str) -> Result<String, ValidationError> {
    required_text(field, value, 255)
}

pub fn validate_property(
    field: &str,
    aggregation: Aggregation,
    property: Option<&str>,
) -> Result<Option<String>, ValidationError> {
    match property.map(str::trim).filter(|p| !p.is_empty()) {
        None if aggregation.needs_property() => Err(ValidationError::new(
            field,
            format!("is required for the {} aggregation", aggregation.as_str()),
        )),
        None => Ok(None),
        Some(p) => {
            check_max_chars(field, p, 255)?;
            Ok(Some(p.to_string()))
        }
    }
}

pub fn validate_filters(field: &str, filters: Vec<MeterFilter>) -> Result<Vec<MeterFilter>, ValidationError> {
    if filters.len() > MAX_FILTERS {
        return Err(ValidationError::new(
            field,
            format!("must have at most {MAX_FILTERS} filters"),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    filters
        .into_iter()
        .enumerate()
        .map(|(i, f)| {
            let key = required_text(&format!("{field}[{i}].key"), &f.key, 255)?;
            if !seen.insert(key.clone()) {
                return Err(ValidationError::new(
                    format!("{field}[{i}].key"),
                    format!("{key:?} is filtered twice"),
                ));
            }
            if f.values.is_empty() || f.values.len() > MAX_FILTER_VALUES {
                return Err(ValidationError::new(
                    format!("{field}[{i}].values"),
                    format!("must have 1 to {MAX_FILTER_VALUES} values"),
                ));
            }
            for v in &f.values {
                check_max_chars(&format!("{field}[{i}].values"), v, 500)?;
            }
            Ok(MeterFilter { key, values: f.values })
        })
        .collect()
}
