use async_graphql::Object;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::db::tax_rates::TaxRateRow;
use crate::graphql::connection::Connection;

pub struct TaxRate(pub TaxRateRow);

/// A tax a tenant charges. Immutable: to change a rate, archive it and create
/// another; invoices finalized with it keep the rate as it was.
#[Object]
impl TaxRate {
    /// The rate's id.
    async fn id(&self) -> Uuid {
        self.0.id
    }

    /// Shown on invoices beside its amount, e.g. "VAT".
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Percent of the taxable amount, 0 to 100 with at most 4 decimals (e.g. "19" for 19 %).
    async fn percentage(&self) -> Decimal {
        self.0.percentage
    }

    /// True: the tax is already inside the line amounts and is carved out of them; false: it is
    /// added on top.
    async fn inclusive(&self) -> bool {
        self.0.inclusive
    }

    /// ISO 3166-1 alpha-2 code of the country whose customers are charged it by their address;
    /// null: charged only to customers that list it in taxRateIds.
    async fn country(&self) -> Option<&str> {
        self.0.country.as_deref()
    }

    /// Limits the rate to customers whose address has this state (compared without regard to
    /// case); null: the whole country.
    async fn state(&self) -> Option<&str> {
        self.0.state.as_deref()
    }

    /// Free text, if any.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// When it was archived; an archived rate is charged on no new invoice.
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.0.archived_at
    }

    /// When it was created (UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

pub type TaxRateConnection = Connection<TaxRate>;
