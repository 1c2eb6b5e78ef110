//! DataLoaders of tax rates: by id, a customer's explicit rates and the
//! rates its invoices are charged, one statement per relation.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use uuid::Uuid;

use crate::db::tax_rates::{self, TaxRateRow};
use crate::error::SharedError;
use crate::graphql::loaders::{TenantLoader, grouped, rows_by_id, shared};

rows_by_id! {
    TaxRateById => TaxRateRow, tax_rates::by_ids
}

/// The rates set explicitly on a customer, in their order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExplicitRatesOf(pub Uuid);

impl Loader<ExplicitRatesOf> for TenantLoader {
    type Value = Vec<TaxRateRow>;
    type Error = SharedError;

    async fn load(&self, keys: &[ExplicitRatesOf]) -> Result<HashMap<ExplicitRatesOf, Vec<TaxRateRow>>, SharedError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = tax_rates::explicit_rates(&mut *self.conn().await?, self.tenant_id(), &ids)
            .await
            .map_err(shared)?;
        Ok(grouped(
            keys,
            rows.into_iter().map(|r| (ExplicitRatesOf(r.customer_id), r.rate)),
        ))
    }
}

/// The rates a customer's next invoices are charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ApplicableRatesOf(pub Uuid);

impl Loader<ApplicableRatesOf> for TenantLoader {
    type Value = Vec<TaxRateRow>;
    type Error = SharedError;

    async fn load(
        &self,
        keys: &[ApplicableRatesOf],
    ) -> Result<HashMap<ApplicableRatesOf, Vec<TaxRateRow>>, SharedError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = tax_rates::applicable_rates(&mut *self.conn().await?, self.tenant_id(), &ids)
            .await
            .map_err(shared)?;
        Ok(grouped(
            keys,
            rows.into_iter().map(|r| (ApplicableRatesOf(r.customer_id), r.rate)),
        ))
    }
}
