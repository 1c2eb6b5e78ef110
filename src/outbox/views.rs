//! Event payloads: each object as the GraphQL API shows it (its scalar
//! fields, under the same names and in the same formats), so a receiver
//! reads an event's `data` the way it reads a query's answer.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::db::customers::CustomerRow;

/// A timestamp as the GraphQL `DateTime` scalar writes it.
pub fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339()
}

pub fn optional_time(at: Option<DateTime<Utc>>) -> Option<String> {
    at.map(time)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerView {
    pub id: Uuid,
    pub external_customer_id: String,
    pub name: String,
    pub email: Option<String>,
    pub address: Option<Value>,
    pub metadata: Value,
    pub parent_customer_id: Option<Uuid>,
    pub status: &'static str,
    pub created_at: String,
    pub updated_at: String,
    pub archived_at: Option<String>,
}

impl From<&CustomerRow> for CustomerView {
    fn from(r: &CustomerRow) -> Self {
        let fields = [
            &r.address_line1,
            &r.address_line2,
            &r.address_city,
            &r.address_state,
            &r.address_postal_code,
            &r.address_country,
        ];
        let address = fields.iter().any(|f| f.is_some()).then(|| {
            json!({
                "line1": r.address_line1, "line2": r.address_line2, "city": r.address_city,
                "state": r.address_state, "postalCode": r.address_postal_code, "country": r.address_country,
            })
        });
        CustomerView {
            id: r.id,
            external_customer_id: r.external_customer_id.clone(),
            name: r.name.clone(),
            email: r.email.clone(),
            address,
            metadata: serde_json::to_value(crate::customers::stored_metadata(&r.metadata)).unwrap_or_default(),
            parent_customer_id: r.parent_customer_id,
            status: r.status.as_str(),
            created_at: time(r.created_at),
            updated_at: time(r.updated_at),
            archived_at: optional_time(r.archived_at),
        }
    }
}
