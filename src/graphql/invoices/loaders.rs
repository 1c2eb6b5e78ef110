//! DataLoaders of invoices, their lines and payments, and balances due.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::db::coupons::{DiscountWithCoupon, discounts_for_invoicing};
use crate::db::invoice_adjustments::{
    self, CreditNoteTaxRow, InvoiceDiscountRow, InvoiceTaxRow, LineDiscountRow, LineTaxRow,
};
use crate::db::invoice_lists::{self, InvoiceFilter, SubscriptionInvoicePageKey, TenantInvoicePageKey};
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

/// One page of a customer's (or its subtree's) invoices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InvoicesPage {
    pub key: InvoicePageKey,
    /// The response shows the invoices' lines: read them with the page
    /// when the request can keep them (see [`LinePrimer`](super::line_primer::LinePrimer)).
    pub with_lines: bool,
}

impl Loader<InvoicesPage> for TenantLoader {
    type Value = Vec<InvoiceRow>;
    type Error = SharedError;

    async fn load(&self, keys: &[InvoicesPage]) -> Result<HashMap<InvoicesPage, Vec<InvoiceRow>>, SharedError> {
        let page_keys: Vec<InvoicePageKey> = keys.iter().map(|k| k.key).collect();
        let primer = self.line_primer().filter(|_| keys.iter().any(|k| k.with_lines));
        let rows = invoices::invoice_pages(&mut *self.conn().await?, self.tenant_id(), &page_keys, primer.is_some())
            .await
            .map_err(shared)?;
        let rows = rows.into_iter().map(|row| {
            if let (Some(primer), Some(lines)) = (primer, row.lines.0) {
                primer.keep(row.invoice.id, lines);
            }
            (row.idx, row.invoice)
        });
        Ok(grouped_by_position(keys, rows))
    }
}

/// One page of the tenant's invoices, filtered, in list order (invoice
/// date, newest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TenantInvoicesPage(pub TenantInvoicePageKey);

impl Loader<TenantInvoicesPage> for TenantLoader {
    type Value = Vec<InvoiceRow>;
    type Error = SharedError;

    async fn load(
        &self,
        keys: &[TenantInvoicesPage],
    ) -> Result<HashMap<TenantInvoicesPage, Vec<InvoiceRow>>, SharedError> {
        // A root field: one key per alias, each its own filter shape.
        let mut conn = self.conn().await?;
        let mut pages = HashMap::with_capacity(keys.len());
        for key in keys {
            let rows = invoice_lists::tenant_invoice_page(&mut conn, self.tenant_id(), &key.0, self.now())
                .await
                .map_err(shared)?;
            pages.insert(*key, rows);
        }
        Ok(pages)
    }
}

/// One page of a subscription's invoices, newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubscriptionInvoicesPage(pub SubscriptionInvoicePageKey);

impl Loader<SubscriptionInvoicesPage> for TenantLoader {
    type Value = Vec<InvoiceRow>;
    type Error = SharedError;

    async fn load(
        &self,
        keys: &[SubscriptionInvoicesPage],
    ) -> Result<HashMap<SubscriptionInvoicesPage, Vec<InvoiceRow>>, SharedError> {
        let page_keys: Vec<SubscriptionInvoicePageKey> = keys.iter().map(|k| k.0).collect();
        let rows = invoice_lists::subscription_invoice_pages(&mut *self.conn().await?, self.tenant_id(), &page_keys)
            .await
            .map_err(shared)?;
        Ok(grouped_by_position(
            keys,
            rows.into_iter().map(|row| (row.idx, row.invoice)),
        ))
    }
}

/// How many invoices a list holds, across its pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InvoiceCount {
    /// A customer's (or its subtree's), of one status or all.
    Customer {
        customer_id: Uuid,
        include_children: bool,
        status: Option<InvoiceStatus>,
    },
    /// A subscription's, of one status or all.
    Subscription {
        subscription_id: Uuid,
        status: Option<InvoiceStatus>,
    },
    /// The tenant's, through a filter.
    Tenant(InvoiceFilter),
}

impl Loader<InvoiceCount> for TenantLoader {
    type Value = i64;
    type Error = SharedError;

    /// One statement per kind of list asked for.
    async fn load(&self, keys: &[InvoiceCount]) -> Result<HashMap<InvoiceCount, i64>, SharedError> {
        let mut customers = Vec::new();
        let mut subscriptions = Vec::new();
        let mut filters = Vec::new();
        for key in keys {
            match *key {
                InvoiceCount::Customer {
                    customer_id,
                    include_children,
                    status,
                } => customers.push((customer_id, include_children, status)),
                InvoiceCount::Subscription {
                    subscription_id,
                    status,
                } => subscriptions.push((subscription_id, status)),
                InvoiceCount::Tenant(filter) => filters.push(filter),
            }
        }
        let mut conn = self.conn().await?;
        let mut counts = HashMap::with_capacity(keys.len());
        if !customers.is_empty() {
            let rows = invoices::invoice_counts(&mut conn, self.tenant_id(), &customers)
                .await
                .map_err(shared)?;
            for row in rows {
                let (customer_id, include_children, status) = customers[(row.idx - 1) as usize];
                let key = InvoiceCount::Customer {
                    customer_id,
                    include_children,
                    status,
                };
                counts.insert(key, row.count);
            }
        }
        if !subscriptions.is_empty() {
            let rows = invoice_lists::subscription_invoice_counts(&mut conn, self.tenant_id(), &subscriptions)
                .await
                .map_err(shared)?;
            for row in rows {
                let (subscription_id, status) = subscriptions[(row.idx - 1) as usize];
                counts.insert(
                    InvoiceCount::Subscription {
                        subscription_id,
                        status,
                    },
                    row.count,
                );
            }
        }
        for filter in filters {
            let count = invoice_lists::tenant_invoice_count(&mut conn, self.tenant_id(), &filter, self.now())
                .await
                .map_err(shared)?;
            counts.insert(InvoiceCount::Tenant(filter), count);
        }
        Ok(counts)
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

rows_of_parent! {
    /// The discounts of invoices, in their order.
    DiscountsOfInvoice => InvoiceDiscountRow, invoice_adjustments::discounts_of, invoice_id
}

rows_of_parent! {
    /// What each discount took off each line, per invoice.
    LineDiscountsOfInvoice => LineDiscountRow, invoice_adjustments::line_discounts_of, invoice_id
}

rows_of_parent! {
    /// The taxes of invoices, per rate, in their order.
    TaxesOfInvoice => InvoiceTaxRow, invoice_adjustments::taxes_of, invoice_id
}

rows_of_parent! {
    /// The tax of each line per rate, per invoice.
    LineTaxesOfInvoice => LineTaxRow, invoice_adjustments::line_taxes_of, invoice_id
}

rows_of_parent! {
    /// The taxes credit notes reversed.
    TaxesOfCreditNote => CreditNoteTaxRow, invoice_adjustments::credit_note_taxes_of, credit_note_id
}

/// The discounts (not removed) that may reduce an invoice of `payer` for
/// `subscription`: the payer's own and the subscription's, with their
/// coupons, oldest first; one statement for every key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InvoicingDiscounts {
    pub payer: Uuid,
    pub subscription: Uuid,
}

impl Loader<InvoicingDiscounts> for TenantLoader {
    type Value = Vec<DiscountWithCoupon>;
    type Error = SharedError;

    async fn load(
        &self,
        keys: &[InvoicingDiscounts],
    ) -> Result<HashMap<InvoicingDiscounts, Vec<DiscountWithCoupon>>, SharedError> {
        let payers: Vec<Uuid> = keys.iter().map(|k| k.payer).collect();
        let subscriptions: Vec<Uuid> = keys.iter().map(|k| k.subscription).collect();
        let rows = discounts_for_invoicing(
            &mut *self.conn().await?,
            self.tenant_id(),
            &payers,
            &subscriptions,
            false,
        )
        .await
        .map_err(shared)?;
        Ok(keys
            .iter()
            .map(|key| {
                let own = rows
                    .iter()
                    .filter(|d| {
                        d.discount.customer_id == Some(key.payer)
                            || d.discount.subscription_id == Some(key.subscription)
                    })
                    .cloned()
                    .collect();
                (*key, own)
            })
            .collect())
    }
}
