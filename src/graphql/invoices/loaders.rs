//! DataLoaders of invoices, their lines and payments, and balances due.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::db::invoices::{self, InvoicePageKey, InvoiceRow, LineRow, PaymentRow};
use crate::domain::invoice::InvoiceStatus;
use crate::domain::money::Currency;
use crate::error::SharedError;
use crate::graphql::loaders::{TenantLoader, grouped_by_position, rows_by_id, rows_of_parent, shared};

rows_by_id! {
    InvoiceById => InvoiceRow, invoices::invoices_by_ids
}

rows_of_parent! {
    LinesOf => LineRow, invoices::lines_of, invoice_id
}

rows_by_id! {
    /// Invoice lines by their ids (the lines credit notes name).
    LineItemById => LineRow, invoices::lines_by_ids
}

rows_of_parent! {
    PaymentsOf => PaymentRow, invoices::payments_of, invoice_id
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InvoicesPage(pub InvoicePageKey);

impl Loader<InvoicesPage> for TenantLoader {
    type Value = Vec<InvoiceRow>;
    type Error = SharedError;

    async fn load(&self, keys: &[InvoicesPage]) -> Result<HashMap<InvoicesPage, Vec<InvoiceRow>>, SharedError> {
        let page_keys: Vec<InvoicePageKey> = keys.iter().map(|k| k.0).collect();
        let rows = invoices::invoice_pages(&mut *self.conn().await?, self.tenant_id(), &page_keys)
            .await
            .map_err(shared)?;
        Ok(grouped_by_position(
            keys,
            rows.into_iter().map(|row| (row.idx, row.invoice)),
        ))
    }
}

/// How many invoices a customer (or its subtree) has, of one status or all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InvoiceCount {
    pub customer_id: Uuid,
    pub include_children: bool,
    pub status: Option<InvoiceStatus>,
}

impl Loader<InvoiceCount> for TenantLoader {
    type Value = i64;
    type Error = SharedError;

    async fn load(&self, keys: &[InvoiceCount]) -> Result<HashMap<InvoiceCount, i64>, SharedError> {
        let triples: Vec<_> = keys
            .iter()
            .map(|k| (k.customer_id, k.include_children, k.status))
            .collect();
        let rows = invoices::invoice_counts(&mut *self.conn().await?, self.tenant_id(), &triples)
            .await
            .map_err(shared)?;
        Ok(rows
            .into_iter()
            .map(|r| (keys[(r.idx - 1) as usize], r.count))
            .collect())
    }
}

/// What a customer (or its subtree) owes on finalized invoices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BalanceDue {
    pub customer_id: Uuid,
    pub include_children: bool,
}

impl Loader<BalanceDue> for TenantLoader {
    /// Per currency, in code order.
    type Value = Vec<(Currency, Decimal)>;
    type Error = SharedError;

    async fn load(&self, keys: &[BalanceDue]) -> Result<HashMap<BalanceDue, Self::Value>, SharedError> {
        let pairs: Vec<(Uuid, bool)> = keys.iter().map(|k| (k.customer_id, k.include_children)).collect();
        let rows = invoices::balances_due(&mut *self.conn().await?, self.tenant_id(), &pairs)
            .await
            .map_err(shared)?;
        Ok(grouped_by_position(
            keys,
            rows.into_iter().map(|row| (row.idx, (row.currency, row.amount))),
        ))
    }
}

/// The customer that pays for a PARENT-paid customer's subscriptions now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PayerOf(pub Uuid);

impl Loader<PayerOf> for TenantLoader {
    type Value = Uuid;
    type Error = SharedError;

    async fn load(&self, keys: &[PayerOf]) -> Result<HashMap<PayerOf, Uuid>, SharedError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows =
            crate::db::subscriptions::paying_ancestors(&mut *self.conn().await?, self.tenant_id(), &ids, self.now())
                .await
                .map_err(shared)?;
        let mut payers: HashMap<PayerOf, Uuid> =
            rows.into_iter().map(|r| (PayerOf(r.customer_id), r.payer_id)).collect();
        // A customer without a parent pays for itself.
        for key in keys {
            payers.entry(*key).or_insert(key.0);
        }
        Ok(payers)
    }
}
