//! A jsonb column kept as the text PostgreSQL sends, parsed only where it
//! is read. An invoice row carries two party snapshots that only its
//! documents read: a page of invoices parsed both into trees of maps and
//! strings, cloned them through its loader and dropped them unread.

use std::io::Write;

use diesel::deserialize::{FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{IsNull, Output, ToSql};
use diesel::sql_types::Jsonb;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The version byte that starts jsonb's binary form; the text follows it.
const JSONB_VERSION: u8 = 1;

/// A JSON document as text.
#[derive(Debug, Clone, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = Jsonb)]
pub struct JsonText(String);

impl JsonText {
    /// `value` written as JSON.
    pub fn of<T: Serialize>(value: &T) -> serde_json::Result<Self> {
        serde_json::to_string(value).map(JsonText)
    }

    /// The document read as a `T`, if it is one.
    pub fn parse<T: DeserializeOwned>(&self) -> Option<T> {
        serde_json::from_str(&self.0).ok()
    }
}

impl FromSql<Jsonb, Pg> for JsonText {
    fn from_sql(value: PgValue<'_>) -> diesel::deserialize::Result<Self> {
        match value.as_bytes().split_first() {
            Some((&JSONB_VERSION, text)) => Ok(JsonText(std::str::from_utf8(text)?.to_owned())),
            _ => Err("jsonb in an unknown binary format".into()),
        }
    }
}

impl ToSql<Jsonb, Pg> for JsonText {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> diesel::serialize::Result {
        out.write_all(&[JSONB_VERSION])?;
        out.write_all(self.0.as_bytes())?;
        Ok(IsNull::No)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_reads_back_as_what_was_written() {
        let written = serde_json::json!({ "name": "Ümlaut & Co", "address": ["1 Main St", "10115 Berlin"] });
        let text = JsonText::of(&written).unwrap();
        assert_eq!(text.parse::<serde_json::Value>(), Some(written));
        assert_eq!(text.parse::<Vec<String>>(), None);
    }
}
