//! Operations on customers, each one transaction: validated input in,
//! committed row out, nothing half-written on refusal.

pub mod hierarchy;
pub mod integrations;

use diesel_async::AsyncConnection;
use uuid::Uuid;

use crate::config::Limits;
use crate::db::customers::{self, AddressColumns, CustomerChanges, CustomerRow, LIVE_EXTERNAL_ID_INDEX, NewCustomer};
use crate::db::errors::unique_violation;
use crate::db::{DbPool, connection};
use crate::db::{events, providers};
use crate::domain::metadata::{self, Metadata};
use crate::domain::outbox::EventType;
use crate::domain::provider::CollectionMethod;
use crate::domain::{country, customer as customer_rules};
use crate::error::{AppError, AppResult};
use crate::outbox::{self, views::CustomerView};
use crate::taxes;

/// A postal address as a client gave it; each API names the parts its own
/// way, the rules are the same.
#[derive(Debug, Clone, Default)]
pub struct AddressText {
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2 code, e.g. "DE".
    pub country: Option<String>,
}

#[derive(Debug, Clone, Copy)]
pub enum AddressPart {
    Line1,
    Line2,
    City,
    State,
    PostalCode,
    Country,
}

impl AddressText {
    /// The address as stored; `field` names each part as the API spells it.
    pub fn validate(&self, field: impl Fn(AddressPart) -> String) -> AppResult<AddressColumns> {
        let text = |part: AddressPart, value: &Option<String>| -> AppResult<Option<String>> {
            match value {
                Some(v) => Ok(customer_rules::validate_optional_text(&field(part), v)?),
                None => Ok(None),
            }
        };
        let country = match self.country.as_deref().map(str::trim) {
            Some(c) if !c.is_empty() => Some(country::validate_country_code(&field(AddressPart::Country), c)?),
            _ => None,
        };
        Ok(AddressColumns {
            address_line1: text(AddressPart::Line1, &self.line1)?,
            address_line2: text(AddressPart::Line2, &self.line2)?,
            address_city: text(AddressPart::City, &self.city)?,
            address_state: text(AddressPart::State, &self.state)?,
            address_postal_code: text(AddressPart::PostalCode, &self.postal_code)?,
            address_country: country,
        })
    }
}

/// A new customer, already validated by the domain rules.
#[derive(Debug, Clone)]
pub struct CustomerDraft {
    pub external_customer_id: String,
    pub name: String,
    pub email: Option<String>,
    pub address: AddressColumns,
    pub metadata: Metadata,
    pub parent_customer_id: Option<Uuid>,
    /// None keeps the default, SEND_INVOICE.
    pub collection_method: Option<CollectionMethod>,
    pub tax: TaxSettings,
}

/// How a customer is taxed, as a client set it.
#[derive(Debug, Clone, Default)]
pub struct TaxSettings {
    pub exempt: bool,
    pub tax_id: Option<String>,
    /// Explicit rates, in order; empty: the rates of its address.
    pub rate_ids: Vec<Uuid>,
}

/// Changes to a customer; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct CustomerPatch {
    pub external_customer_id: Option<String>,
    pub name: Option<String>,
    pub email: Option<Option<String>>,
    /// `Some(default)` clears the address.
    pub address: Option<AddressColumns>,
    /// Set string values, remove keys given as null.
    pub metadata_patch: Option<serde_json::Value>,
    pub collection_method: Option<CollectionMethod>,
    pub tax_exempt: Option<bool>,
    /// `Some(None)` clears the tax id.
    pub tax_id: Option<Option<String>>,
    /// Replaces the explicit rates; `Some(vec![])` clears them.
    pub tax_rate_ids: Option<Vec<Uuid>>,
    /// The `updatedAt` of the customer this patch was built on, when it was
    /// built on it (an address merged part by part): a customer changed in
    /// between is refused with CONFLICT rather than losing that change.
    pub built_on: Option<chrono::DateTime<chrono::Utc>>,
}

pub async fn create(pool: &DbPool, tenant_id: Uuid, draft: CustomerDraft, limits: &Limits) -> AppResult<CustomerRow> {
    let mut conn = connection(pool).await?;
    let max_levels = limits.max_hierarchy_depth;
    conn.transaction(async |conn| {
        if let Some(parent) = draft.parent_customer_id {
            hierarchy::lock_and_check_parent(conn, tenant_id, None, parent, 1, max_levels, "input.parentCustomerId")
                .await?;
        }
        let new = NewCustomer {
            tenant_id,
            id: Uuid::now_v7(),
            external_customer_id: draft.external_customer_id.clone(),
            name: draft.name,
            email: draft.email,
            address: draft.address,
            metadata: metadata::metadata_to_json(&draft.metadata),
            parent_customer_id: draft.parent_customer_id,
            tax_exempt: draft.tax.exempt,
            tax_id: draft.tax.tax_id,
        };
        let row = customers::insert(conn, &new)
            .await
            .map_err(|e| write_error(e, &draft.external_customer_id))?;
        if let Some(method) = draft.collection_method {
            providers::set_collection_method(conn, tenant_id, row.id, method).await?;
        }
        if !draft.tax.rate_ids.is_empty() {
            taxes::set_customer_rates(conn, tenant_id, row.id, "input.taxRateIds", &draft.tax.rate_ids).await?;
        }
        outbox::emit(
            conn,
            tenant_id,
            EventType::CustomerCreated,
            row.id,
            &CustomerView::from(&row),
        )
        .await?;
        Ok(row)
    })
    .await
}

pub async fn update(pool: &DbPool, tenant_id: Uuid, id: Uuid, patch: CustomerPatch) -> AppResult<CustomerRow> {
    let mut conn = connection(pool).await?;
    conn.transaction(async |conn| {
        let current = live_customer_for_update(conn, tenant_id, id).await?;
        if patch.built_on.is_some_and(|at| at != current.updated_at) {
            return Err(AppError::conflict(
                "the customer changed while this update was being applied; read it and send the update again",
            ));
        }
        if let Some(new_id) = &patch.external_customer_id
            && *new_id != current.external_customer_id
            && events::exist_for_customer(conn, tenant_id, &current.external_customer_id).await?
        {
            // Events name customers by external id: renaming would orphan them.
            return Err(AppError::conflict(
                "externalCustomerId cannot change once events name it; the usage would be orphaned",
            ));
        }
        let metadata = match &patch.metadata_patch {
            Some(p) => {
                let current_map = stored_metadata(&current.metadata);
                let merged = metadata::apply_metadata_patch("input.metadata", &current_map, p)?;
                Some(metadata::metadata_to_json(&merged))
            }
            None => None,
        };
        let changes = CustomerChanges {
            external_customer_id: patch.external_customer_id.clone(),
            name: patch.name,
            email: patch.email,
            metadata,
            tax_exempt: patch.tax_exempt,
            tax_id: patch.tax_id,
        };
        let external_id = patch.external_customer_id.unwrap_or(current.external_customer_id);
        let row = customers::update(conn, tenant_id, id, &changes, patch.address.as_ref())
            .await
            .map_err(|e| write_error(e, &external_id))?;
        if let Some(method) = patch.collection_method {
            providers::set_collection_method(conn, tenant_id, id, method).await?;
        }
        if let Some(rate_ids) = &patch.tax_rate_ids {
            taxes::set_customer_rates(conn, tenant_id, id, "input.taxRateIds", rate_ids).await?;
        }
        outbox::emit(
            conn,
            tenant_id,
            EventType::CustomerUpdated,
            row.id,
            &CustomerView::from(&row),
        )
        .await?;
        Ok(row)
    })
    .await
}

/// Archives a customer; its live children must be moved or archived first,
/// and its subscriptions must have ended.
/// Archiving an archived customer returns it unchanged.
pub async fn archive(pool: &DbPool, tenant_id: Uuid, id: Uuid) -> AppResult<CustomerRow> {
    let mut conn = connection(pool).await?;
    conn.transaction(async |conn| {
        // The hierarchy lock keeps a child from being added while we check.
        crate::db::hierarchy::lock_tenant_hierarchy(conn, tenant_id).await?;
        let current = customers::find_for_update(conn, tenant_id, id)
            .await?
            .ok_or_else(|| AppError::not_found("customer"))?;
        if !current.is_active() {
            return Ok(current);
        }
        if customers::has_active_children(conn, tenant_id, id).await? {
            return Err(AppError::conflict(
                "customer has active children: move or archive them before archiving it",
            ));
        }
        if crate::db::subscriptions::has_live_subscription(conn, tenant_id, id, chrono::Utc::now()).await? {
            return Err(AppError::conflict(
                "customer has subscriptions that have not ended: cancel them before archiving it",
            ));
        }
        let row = customers::archive(conn, tenant_id, id).await?;
        outbox::emit(
            conn,
            tenant_id,
            EventType::CustomerArchived,
            row.id,
            &CustomerView::from(&row),
        )
        .await?;
        Ok(row)
    })
    .await
}

/// The customer, locked for this transaction; archived customers are read-only.
pub(crate) async fn live_customer_for_update(
    conn: &mut diesel_async::AsyncPgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> AppResult<CustomerRow> {
    let row = customers::find_for_update(conn, tenant_id, id)
        .await?
        .ok_or_else(|| AppError::not_found("customer"))?;
    if !row.is_active() {
        return Err(AppError::conflict("customer is archived and can no longer be changed"));
    }
    Ok(row)
}

/// Metadata as stored; the database only ever holds string values.
pub fn stored_metadata(value: &serde_json::Value) -> Metadata {
    value
        .as_object()
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

fn write_error(err: diesel::result::Error, external_id: &str) -> AppError {
    match unique_violation(&err) {
        Some(LIVE_EXTERNAL_ID_INDEX) => AppError::conflict(format!(
            "an active customer with externalCustomerId {external_id:?} already exists"
        )),
        _ => AppError::from(err),
    }
}
