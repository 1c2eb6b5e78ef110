//! GraphQL input types and their conversion into validated drafts. Every
//! rule comes from domain/; this file only names the fields.

use crate::graphql::providers::CollectionMethodType;
use async_graphql::{InputObject, Json, MaybeUndefined};
use uuid::Uuid;

use crate::customers::integrations::MappingDraft;
use crate::customers::{AddressPart, AddressText, CustomerDraft, CustomerPatch, TaxSettings};
use crate::db::customers::{AddressColumns, CustomerFilter};
use crate::domain::integration::{validate_provider_entity_id, validate_provider_name};
use crate::domain::stored::RecordStatus;
use crate::domain::{customer as rules, metadata};
use crate::error::{AppError, AppResult};
use crate::graphql::customers::customer::CustomerStatus;
use crate::graphql::customers::integration::IntegrationProvider;
use crate::taxes::check_rate_list;

/// A postal address; each part optional, at most 255 characters (VALIDATION on
/// `input.address.<part>`).
#[derive(InputObject, Debug, Clone, Default)]
pub struct AddressInput {
    /// First street line.
    pub line1: Option<String>,
    /// Second street line (building, floor, ...).
    pub line2: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State, province or region.
    pub state: Option<String>,
    /// Postal or ZIP code.
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2 code, e.g. "DE".
    pub country: Option<String>,
}

impl AddressInput {
    pub(crate) fn validate(&self, field: &str) -> AppResult<AddressColumns> {
        let text = AddressText {
            line1: self.line1.clone(),
            line2: self.line2.clone(),
            city: self.city.clone(),
            state: self.state.clone(),
            postal_code: self.postal_code.clone(),
            country: self.country.clone(),
        };
        text.validate(|part| {
            let name = match part {
                AddressPart::Line1 => "line1",
                AddressPart::Line2 => "line2",
                AddressPart::City => "city",
                AddressPart::State => "state",
                AddressPart::PostalCode => "postalCode",
                AddressPart::Country => "country",
            };
            format!("{field}.{name}")
        })
    }
}

/// A new customer.
#[derive(InputObject, Debug, Clone)]
pub struct CreateCustomerInput {
    /// The customer's id in the tenant's own systems, 1 to 255 characters; unique among active
    /// customers (CONFLICT otherwise). Usage events name customers by it.
    pub external_customer_id: String,
    /// Display name, 1 to 255 characters.
    pub name: String,
    /// Billing email address (at most 254 characters); blank means none.
    pub email: Option<String>,
    /// Postal address.
    pub address: Option<AddressInput>,
    /// A JSON object of string values: at most 50 keys of at most 40
    /// characters, values of at most 500 characters.
    pub metadata: Option<Json<serde_json::Value>>,
    /// The parent, an active customer of the tenant (NOT_FOUND when unknown, CONFLICT when
    /// archived). Omitted: a root customer.
    pub parent_customer_id: Option<Uuid>,
    /// How the customer's invoices are collected; SEND_INVOICE by default.
    pub collection_method: Option<CollectionMethodType>,
    /// True: its invoices are charged no tax. False by default.
    pub tax_exempt: Option<bool>,
    /// Its tax id (e.g. a VAT number), 1 to 64 characters, printed on its documents.
    pub tax_id: Option<String>,
    /// Tax rates to charge it instead of those of its address, in the order invoices show them:
    /// live rates of the tenant (VALIDATION on `input.taxRateIds[i]` for an unknown, archived or
    /// repeated one), at most 20. Omitted or []: the rates of its address.
    pub tax_rate_ids: Option<Vec<Uuid>>,
}

impl CreateCustomerInput {
    pub fn validate(self) -> AppResult<CustomerDraft> {
        Ok(CustomerDraft {
            external_customer_id: rules::validate_external_customer_id(
                "input.externalCustomerId",
                &self.external_customer_id,
            )?,
            name: rules::validate_name("input.name", &self.name)?,
            email: match self.email.as_deref().map(str::trim) {
                Some(e) if !e.is_empty() => Some(rules::validate_email("input.email", e)?),
                _ => None,
            },
            address: self.address.unwrap_or_default().validate("input.address")?,
            metadata: match &self.metadata {
                Some(m) => metadata::parse_metadata("input.metadata", &m.0)?,
                None => Default::default(),
            },
            parent_customer_id: self.parent_customer_id,
            collection_method: self.collection_method.map(Into::into),
            tax: TaxSettings {
                exempt: self.tax_exempt.unwrap_or(false),
                tax_id: self
                    .tax_id
                    .map(|v| rules::validate_tax_id("input.taxId", &v))
                    .transpose()?,
                rate_ids: match self.tax_rate_ids {
                    Some(ids) => {
                        check_rate_list("input.taxRateIds", &ids)?;
                        ids
                    }
                    None => Vec::new(),
                },
            },
        })
    }
}

/// Only the fields given change.
#[derive(InputObject, Debug, Clone)]
pub struct UpdateCustomerInput {
    /// New external id, 1 to 255 characters. CONFLICT once events name the current one, or when
    /// another active customer holds it.
    pub external_customer_id: Option<String>,
    /// New display name, 1 to 255 characters.
    pub name: Option<String>,
    /// null removes the email.
    pub email: MaybeUndefined<String>,
    /// Replaces the whole address; null removes it.
    pub address: MaybeUndefined<AddressInput>,
    /// Sets the keys given; a key given as null is removed; other keys stay.
    pub metadata: Option<Json<serde_json::Value>>,
    /// How the customer's invoices are collected from now on.
    pub collection_method: Option<CollectionMethodType>,
    /// True: its invoices are charged no tax from now on.
    pub tax_exempt: Option<bool>,
    /// Its tax id, 1 to 64 characters; null removes it.
    pub tax_id: MaybeUndefined<String>,
    /// Replaces its explicit tax rates (same rules as at creation); [] clears them, so its
    /// address decides again.
    pub tax_rate_ids: Option<Vec<Uuid>>,
}

impl UpdateCustomerInput {
    pub fn validate(self) -> AppResult<CustomerPatch> {
        Ok(CustomerPatch {
            external_customer_id: self
                .external_customer_id
                .map(|v| rules::validate_external_customer_id("input.externalCustomerId", &v))
                .transpose()?,
            name: self.name.map(|v| rules::validate_name("input.name", &v)).transpose()?,
            email: match self.email {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(e) if e.trim().is_empty() => Some(None),
                MaybeUndefined::Value(e) => Some(Some(rules::validate_email("input.email", &e)?)),
            },
            address: match self.address {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(AddressColumns::default()),
                MaybeUndefined::Value(a) => Some(a.validate("input.address")?),
            },
            metadata_patch: self.metadata.map(|m| m.0),
            collection_method: self.collection_method.map(Into::into),
            tax_exempt: self.tax_exempt,
            tax_id: match self.tax_id {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(v) => Some(Some(rules::validate_tax_id("input.taxId", &v)?)),
            },
            tax_rate_ids: match self.tax_rate_ids {
                Some(ids) => {
                    check_rate_list("input.taxRateIds", &ids)?;
                    Some(ids)
                }
                None => None,
            },
            // Every change is applied as given, inside the update's transaction.
            built_on: None,
        })
    }
}

/// Narrows a list of customers; every condition given must hold.
#[derive(InputObject, Debug, Clone, Default)]
pub struct CustomerFilterInput {
    /// Direct children of this customer.
    pub parent_customer_id: Option<Uuid>,
    /// Only customers without a parent.
    pub roots_only: Option<bool>,
    /// Only customers with this status.
    pub status: Option<CustomerStatus>,
    /// Customers whose metadata contains all of these key/value pairs.
    pub metadata: Option<Json<serde_json::Value>>,
    /// Case-insensitive match on name, email or externalCustomerId.
    pub search: Option<String>,
}

impl CustomerFilterInput {
    pub fn validate(self) -> AppResult<CustomerFilter> {
        let metadata = match &self.metadata {
            Some(m) => Some(metadata::metadata_to_json(&metadata::parse_metadata_filter(
                "filter.metadata",
                &m.0,
            )?)),
            None => None,
        };
        let search = match self.search.as_deref().map(str::trim) {
            Some(s) if s.chars().count() > rules::MAX_TEXT_LEN => {
                return Err(AppError::validation("filter.search", "must be at most 255 characters"));
            }
            Some(s) if !s.is_empty() => Some(s.to_string()),
            _ => None,
        };
        Ok(CustomerFilter {
            parent_customer_id: self.parent_customer_id,
            roots_only: self.roots_only.unwrap_or(false),
            status: self.status.map(RecordStatus::from),
            metadata,
            search,
            external_customer_id: None,
        })
    }
}

/// A link to a record of an outside system.
#[derive(InputObject, Debug, Clone)]
pub struct IntegrationMappingInput {
    /// The outside system.
    pub provider: IntegrationProvider,
    /// Required for CUSTOM, refused for the named providers.
    pub provider_name: Option<String>,
    /// The record's id in the outside system.
    pub provider_entity_id: String,
    /// A JSON object of string values: at most 50 keys of at most 40 characters, values of at most
    /// 500 characters (VALIDATION on `input.metadata`).
    pub metadata: Option<Json<serde_json::Value>>,
}

impl IntegrationMappingInput {
    pub fn validate(self) -> AppResult<MappingDraft> {
        let provider = self.provider.into();
        Ok(MappingDraft {
            provider,
            provider_name: validate_provider_name("input.providerName", provider, self.provider_name.as_deref())?,
            provider_entity_id: validate_provider_entity_id("input.providerEntityId", &self.provider_entity_id)?,
            metadata: match &self.metadata {
                Some(m) => metadata::parse_metadata("input.metadata", &m.0)?,
                None => Default::default(),
            },
        })
    }
}
