//! FlexPrice's customer bodies: what POST and PUT /v1/customers take and the
//! customer they answer with. The rules are the domain's, as in GraphQL;
//! this file only names the fields the way FlexPrice does.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::customers::{AddressPart, AddressText, CustomerDraft, CustomerPatch, stored_metadata};
use crate::db::customers::{AddressColumns, CustomerRow};
use crate::domain::customer as rules;
use crate::domain::metadata::{self, Metadata};
use crate::domain::stored::RecordStatus;
use crate::domain::text::check_text_tree;
use crate::error::{AppError, AppResult};

/// The flat address fields of FlexPrice's customer.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct FlatAddress {
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub address_city: Option<String>,
    pub address_state: Option<String>,
    pub address_postal_code: Option<String>,
    /// ISO 3166-1 alpha-2 code, e.g. "DE".
    pub address_country: Option<String>,
}

impl FlatAddress {
    fn is_empty(&self) -> bool {
        [
            &self.address_line1,
            &self.address_line2,
            &self.address_city,
            &self.address_state,
            &self.address_postal_code,
            &self.address_country,
        ]
        .iter()
        .all(|v| v.is_none())
    }

    fn text(&self) -> AddressText {
        AddressText {
            line1: self.address_line1.clone(),
            line2: self.address_line2.clone(),
            city: self.address_city.clone(),
            state: self.address_state.clone(),
            postal_code: self.address_postal_code.clone(),
            country: self.address_country.clone(),
        }
    }

    fn validate(&self) -> AppResult<AddressColumns> {
        self.text().validate(|part| {
            match part {
                AddressPart::Line1 => "address_line1",
                AddressPart::Line2 => "address_line2",
                AddressPart::City => "address_city",
                AddressPart::State => "address_state",
                AddressPart::PostalCode => "address_postal_code",
                AddressPart::Country => "address_country",
            }
            .to_owned()
        })
    }

    /// The stored address with the parts given here replaced.
    fn over(&self, current: &CustomerRow) -> FlatAddress {
        let pick = |given: &Option<String>, stored: &Option<String>| given.clone().or_else(|| stored.clone());
        FlatAddress {
            address_line1: pick(&self.address_line1, &current.address_line1),
            address_line2: pick(&self.address_line2, &current.address_line2),
            address_city: pick(&self.address_city, &current.address_city),
            address_state: pick(&self.address_state, &current.address_state),
            address_postal_code: pick(&self.address_postal_code, &current.address_postal_code),
            address_country: pick(&self.address_country, &current.address_country),
        }
    }
}

/// Fields of FlexPrice's customer that billgraph does not keep (currency,
/// timezone, tax settings...) are ignored, as FlexPrice ignores unknown ones.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CreateCustomerBody {
    /// FlexPrice's documented name of the external id.
    pub external_customer_id: Option<String>,
    /// The name FlexPrice's SDKs send.
    pub external_id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    #[serde(flatten)]
    pub address: FlatAddress,
    pub metadata: Option<Value>,
    pub parent_customer_id: Option<String>,
}

impl CreateCustomerBody {
    pub fn validate(self) -> AppResult<CustomerDraft> {
        let external_id = one_external_id(self.external_customer_id, self.external_id)?
            .ok_or_else(|| AppError::validation("external_customer_id", "is required (or external_id)"))?;
        let name = self.name.ok_or_else(|| AppError::validation("name", "is required"))?;
        Ok(CustomerDraft {
            external_customer_id: rules::validate_external_customer_id("external_customer_id", &external_id)?,
            name: rules::validate_name("name", &name)?,
            email: match self.email.as_deref().map(str::trim) {
                Some(e) if !e.is_empty() => Some(rules::validate_email("email", e)?),
                _ => None,
            },
            address: self.address.validate()?,
            metadata: match &self.metadata {
                Some(m) => metadata::parse_metadata("metadata", m)?,
                None => Metadata::default(),
            },
            parent_customer_id: match self.parent_customer_id.as_deref().map(str::trim) {
                Some(id) if !id.is_empty() => Some(customer_id("parent_customer_id", id)?),
                _ => None,
            },
            collection_method: None,
            tax: Default::default(),
        })
    }
}

/// Only the fields given change; the address parts given replace those
/// stored, the others stay; metadata keys given are set, keys given as null
/// removed, other keys stay (as updateCustomer does).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct UpdateCustomerBody {
    pub external_customer_id: Option<String>,
    pub external_id: Option<String>,
    pub name: Option<String>,
    /// An empty string removes the email.
    pub email: Option<String>,
    #[serde(flatten)]
    pub address: FlatAddress,
    pub metadata: Option<Value>,
}

impl UpdateCustomerBody {
    pub fn validate(self, current: &CustomerRow) -> AppResult<CustomerPatch> {
        Ok(CustomerPatch {
            external_customer_id: one_external_id(self.external_customer_id, self.external_id)?
                .map(|v| rules::validate_external_customer_id("external_customer_id", &v))
                .transpose()?,
            name: self.name.map(|v| rules::validate_name("name", &v)).transpose()?,
            email: match self.email {
                None => None,
                Some(e) if e.trim().is_empty() => Some(None),
                Some(e) => Some(Some(rules::validate_email("email", &e)?)),
            },
            address: if self.address.is_empty() {
                None
            } else {
                Some(self.address.over(current).validate()?)
            },
            metadata_patch: self.metadata,
            collection_method: None,
            tax_exempt: None,
            tax_id: None,
            tax_rate_ids: None,
            // The address parts not given were read from `current`.
            built_on: (!self.address.is_empty()).then_some(current.updated_at),
        })
    }
}

/// Both names of the external id may be given only when they agree.
fn one_external_id(documented: Option<String>, sdk: Option<String>) -> AppResult<Option<String>> {
    match (documented, sdk) {
        (Some(a), Some(b)) if a.trim() != b.trim() => Err(AppError::validation(
            "external_id",
            "differs from external_customer_id; give one of them",
        )),
        (a, b) => Ok(a.or(b)),
    }
}

pub fn customer_id(field: &str, text: &str) -> AppResult<Uuid> {
    Uuid::parse_str(text.trim()).map_err(|_| AppError::validation(field, "is not a customer id (a UUID)"))
}

/// Refuses characters no text input may carry, anywhere in the body, before
/// the body is read into its fields; the error names the field.
pub fn check_body_text(body: &Value) -> AppResult<()> {
    if let Some(fields) = body.as_object() {
        for (name, value) in fields {
            check_text_tree(name, value)?;
        }
    }
    Ok(())
}

/// FlexPrice's customer. Fields billgraph keeps are filled; `status` is
/// FlexPrice's `published` for an active customer, `archived` otherwise.
/// billgraph adds `external_customer_id` and `parent_customer_id`.
#[derive(Debug, Serialize)]
pub struct CustomerResponse {
    pub id: String,
    pub external_id: String,
    pub external_customer_id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_line1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_line2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_postal_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_country: Option<String>,
    pub metadata: Metadata,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_customer_id: Option<String>,
    pub tenant_id: String,
    pub status: &'static str,
    pub created_at: String,
    pub updated_at: String,
}

impl From<CustomerRow> for CustomerResponse {
    fn from(row: CustomerRow) -> Self {
        CustomerResponse {
            id: row.id.to_string(),
            external_id: row.external_customer_id.clone(),
            metadata: stored_metadata(&row.metadata),
            external_customer_id: row.external_customer_id,
            name: row.name,
            email: row.email,
            address_line1: row.address_line1,
            address_line2: row.address_line2,
            address_city: row.address_city,
            address_state: row.address_state,
            address_postal_code: row.address_postal_code,
            address_country: row.address_country,
            parent_customer_id: row.parent_customer_id.map(|id| id.to_string()),
            tenant_id: row.tenant_id.to_string(),
            status: match row.status {
                RecordStatus::Active => "published",
                _ => "archived",
            },
            created_at: row.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            updated_at: row.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn either_name_of_the_external_id_is_taken_but_not_two_different_ones() {
        let some = |s: &str| Some(s.to_string());
        assert_eq!(one_external_id(some("a"), None).unwrap(), some("a"));
        assert_eq!(one_external_id(None, some("b")).unwrap(), some("b"));
        assert_eq!(one_external_id(some("a"), some("a")).unwrap(), some("a"));
        assert_eq!(one_external_id(None, None).unwrap(), None);
        let err = one_external_id(some("a"), some("b")).unwrap_err();
        assert_eq!(err.field(), Some("external_id"));
    }

    #[test]
    fn flat_address_fields_are_named_as_the_body_spells_them() {
        let address = FlatAddress {
            address_country: Some("Germany".into()),
            ..Default::default()
        };
        let err = address.validate().unwrap_err();
        assert_eq!(err.field(), Some("address_country"));
    }
}
