//! A GraphQL response written as JSON straight from the executor's values.
//!
//! The executor fills each object in the order its fields finish, which
//! depends on timing; every object's keys are therefore written in
//! alphabetical order, so a response reads the same on every run. Writing
//! from the values directly, rather than through a `serde_json::Value` tree
//! that sorts as it is built, saves building and dropping that second tree
//! (about a tenth of the server's work on a large page).

use async_graphql::Value as GraphqlValue;
use serde::ser::{Serialize, Serializer};

/// `value` with every object's keys in alphabetical order.
pub struct SortedKeys<'a>(pub &'a GraphqlValue);

impl Serialize for SortedKeys<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            GraphqlValue::List(items) => serializer.collect_seq(items.iter().map(SortedKeys)),
            GraphqlValue::Object(fields) => {
                let mut entries: Vec<_> = fields.iter().collect();
                entries.sort_unstable_by(|(a, _), (b, _)| a.as_str().cmp(b.as_str()));
                serializer.collect_map(
                    entries
                        .into_iter()
                        .map(|(key, value)| (key.as_str(), SortedKeys(value))),
                )
            }
            scalar => scalar.serialize(serializer),
        }
    }
}

/// The body of a response: `data` (unless left out), then `errors` and
/// `extensions` when there are any, as their keys sort.
#[derive(serde::Serialize)]
pub struct ResponseBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<SortedKeys<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extensions: Option<serde_json::Value>,
}

impl<'a> ResponseBody<'a> {
    /// The body of `response`; without `data` when `omit_data`. Errors and
    /// extensions are few and small: they go through `serde_json::Value`,
    /// whose maps sort their keys.
    pub fn of(response: &'a async_graphql::Response, omit_data: bool) -> Self {
        ResponseBody {
            data: (!omit_data).then_some(SortedKeys(&response.data)),
            errors: (!response.errors.is_empty()).then(|| serde_json::to_value(&response.errors).unwrap_or_default()),
            extensions: (!response.extensions.is_empty())
                .then(|| serde_json::to_value(&response.extensions).unwrap_or_default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::indexmap::IndexMap;
    use async_graphql::{Name, Number, ServerError};

    fn object(fields: Vec<(&str, GraphqlValue)>) -> GraphqlValue {
        GraphqlValue::Object(
            fields
                .into_iter()
                .map(|(k, v)| (Name::new(k), v))
                .collect::<IndexMap<_, _>>(),
        )
    }

    fn sample() -> GraphqlValue {
        object(vec![
            ("zebra", GraphqlValue::Number(Number::from(1))),
            (
                "alpha",
                GraphqlValue::List(vec![
                    object(vec![("b", GraphqlValue::Null), ("a", GraphqlValue::Boolean(true))]),
                    GraphqlValue::String("x\"y".into()),
                    GraphqlValue::Enum(Name::new("PAID")),
                ]),
            ),
            (
                "customers",
                object(vec![("total", GraphqlValue::String("12.50".into()))]),
            ),
        ])
    }

    #[test]
    fn keys_are_written_in_alphabetical_order_at_every_depth() {
        let text = serde_json::to_string(&SortedKeys(&sample())).unwrap();
        assert_eq!(
            text,
            r#"{"alpha":[{"a":true,"b":null},"x\"y","PAID"],"customers":{"total":"12.50"},"zebra":1}"#
        );
    }

    #[test]
    fn the_body_reads_as_the_sorted_value_tree_did() {
        let mut response = async_graphql::Response::new(sample());
        response.errors.push(ServerError::new("boom", None));
        let direct = serde_json::to_string(&ResponseBody::of(&response, false)).unwrap();
        let through_tree = serde_json::to_value(&response).unwrap().to_string();
        assert_eq!(direct, through_tree);
        let without_data = serde_json::to_string(&ResponseBody::of(&response, true)).unwrap();
        assert_eq!(without_data, r#"{"errors":[{"message":"boom"}]}"#);
    }
}
