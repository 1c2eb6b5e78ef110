use std::collections::BTreeMap;

use async_graphql::{Context, Enum, Json, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::db::coupons::DiscountHolder;
use crate::db::customers::CustomerRow;
use crate::db::hierarchy::PageKey;
use crate::domain::integration::Provider;
use crate::domain::provider::CollectionMethod;
use crate::domain::stored::RecordStatus;
use crate::domain::usage::{Window, usage_range};
use crate::error::AppError;
use crate::graphql::connection::Total;
use crate::graphql::context::ContextExt;
use crate::graphql::coupons::discount::DiscountConnection;
use crate::graphql::credit_notes::credit_note::CreditNoteConnection;
use crate::graphql::credit_notes::loaders::CreditBalancesOf;
use crate::graphql::customers::customer_connection::CustomerConnection;
use crate::graphql::customers::integration::IntegrationMapping;
use crate::graphql::customers::loaders::{
    AncestorsOf, ChildCount, ChildrenPage, CustomerById, DescendantCount, DescendantsPage, IntegrationsOf,
};
use crate::graphql::in_place::InPlaceList;
use crate::graphql::invoices::invoice::{InvoiceConnection, InvoiceStatusType};
use crate::graphql::invoices::loaders::BalanceDue;
use crate::graphql::pagination::{PageRequest, page_complexity};
use crate::graphql::providers::loaders::{CollectionMethodOf, StripeConnectionOfTenant};
use crate::graphql::providers::{CollectionMethodType, PaymentMethodCard};
use crate::graphql::subscriptions::loaders::PaidSubscriptions;
use crate::graphql::subscriptions::preview::{CurrencyAmount, UpcomingCharges, upcoming_invoice};
use crate::graphql::subscriptions::subscription::{SubscriptionConnection, SubscriptionStatus};
use crate::graphql::taxes::loaders::{ApplicableRatesOf, ExplicitRatesOf};
use crate::graphql::taxes::tax_rate::TaxRate;
use crate::graphql::usage::loaders::{UsageOf, UsageQuery};
use crate::graphql::usage::meter_usage::{MeterUsage, UsageWindow};
use crate::providers::PaymentProvider;
use crate::providers::stripe::Stripe;

/// Whether a customer can still be changed and billed.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::stored::RecordStatus")]
pub enum CustomerStatus {
    /// Can be changed, subscribed and billed; holds its externalCustomerId.
    Active,
    /// Archived by archiveCustomer: read-only, its externalCustomerId free for a new customer; its
    /// usage still counts for its ancestors.
    Archived,
}

/// A customer's postal address; each part is optional.
#[derive(SimpleObject, Debug, Clone)]
pub struct Address {
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
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
}

/// Most meters one usage field may name.
const MAX_USAGE_METERS: usize = 100;

pub struct Customer(pub CustomerRow);

/// A customer of the tenant: who is billed, with an optional parent (hierarchies up to
/// BILLGRAPH_MAX_HIERARCHY_DEPTH levels, 5 by default), its usage, subscriptions, invoices, wallets
/// and links to outside systems.
#[Object]
impl Customer {
    /// The customer's id (UUID v7), as billgraph assigned it.
    async fn id(&self) -> Uuid {
        self.0.id
    }

    /// The customer's id in the tenant's own systems; unique among active customers.
    async fn external_customer_id(&self) -> &str {
        &self.0.external_customer_id
    }

    /// Display name, 1 to 255 characters.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Billing email address, if any.
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }

    /// Null when no address field is set.
    async fn address(&self) -> Option<Address> {
        let r = &self.0;
        let address = Address {
            line1: r.address_line1.clone(),
            line2: r.address_line2.clone(),
            city: r.address_city.clone(),
            state: r.address_state.clone(),
            postal_code: r.address_postal_code.clone(),
            country: r.address_country.clone(),
        };
        let empty = [
            &address.line1,
            &address.line2,
            &address.city,
            &address.state,
            &address.postal_code,
            &address.country,
        ]
        .iter()
        .all(|f| f.is_none());
        (!empty).then_some(address)
    }

    /// True: its invoices are charged no tax.
    async fn tax_exempt(&self) -> bool {
        self.0.tax_exempt
    }

    /// Its tax id (e.g. a VAT number), printed on its documents.
    async fn tax_id(&self) -> Option<&str> {
        self.0.tax_id.as_deref()
    }

    /// The tax rates set on it explicitly (archived ones included, which are no longer
    /// charged), in the order invoices show them; [] when its address decides.
    async fn tax_rates(&self, ctx: &Context<'_>) -> Result<Vec<TaxRate>> {
        let rows = ctx.loader().load_one(ExplicitRatesOf(self.0.id)).await?;
        Ok(rows.unwrap_or_default().into_iter().map(TaxRate).collect())
    }

    /// The rates its next invoices are charged: none when exempt; its explicit taxRates when
    /// it has any (archived ones left out); otherwise the live rates of its address's country
    /// (those for the whole country first, then those of its state, compared without regard
    /// to case).
    async fn applicable_tax_rates(&self, ctx: &Context<'_>) -> Result<Vec<TaxRate>> {
        let rows = ctx.loader().load_one(ApplicableRatesOf(self.0.id)).await?;
        Ok(rows.unwrap_or_default().into_iter().map(TaxRate).collect())
    }

    /// Coupons applied to it (reducing every invoice it pays; an amount coupon only its
    /// invoices in the coupon's currency), oldest first: the order they apply in.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn discounts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Removed discounts too; false by default.", default = false)] include_removed: bool,
        #[graphql(
            desc = "Page size (default 20, at most 100: the server's BILLGRAPH_DEFAULT_PAGE_SIZE and BILLGRAPH_MAX_PAGE_SIZE). Negative or above the maximum: VALIDATION on `first`."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "Start after this cursor (an edge's `cursor` or `pageInfo.endCursor`); omitted: from the start. Unreadable: VALIDATION on `after`."
        )]
        after: Option<String>,
    ) -> Result<DiscountConnection> {
        DiscountConnection::load(ctx, DiscountHolder::Customer, self.0.id, include_removed, first, after).await
    }

    /// A JSON object of string values.
    async fn metadata(&self) -> Json<BTreeMap<String, String>> {
        Json(crate::customers::stored_metadata(&self.0.metadata))
    }

    /// The parent's id; null for a root customer.
    async fn parent_customer_id(&self) -> Option<Uuid> {
        self.0.parent_customer_id
    }

    /// ACTIVE, or ARCHIVED after archiveCustomer.
    async fn status(&self) -> CustomerStatus {
        if self.0.status == RecordStatus::Archived {
            CustomerStatus::Archived
        } else {
            CustomerStatus::Active
        }
    }

    /// When the customer was created (UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When a field of the customer last changed (UTC).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// When the customer was archived; null while active.
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.0.archived_at
    }

    /// The parent customer; null for a root customer.
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Customer>> {
        let Some(parent_id) = self.0.parent_customer_id else {
            return Ok(None);
        };
        Ok(ctx.loader().load_one(CustomerById(parent_id)).await?.map(Customer))
    }

    /// Direct children, in creation order.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn children(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Page size (default 20, at most 100: the server's BILLGRAPH_DEFAULT_PAGE_SIZE and BILLGRAPH_MAX_PAGE_SIZE). Negative or above the maximum: VALIDATION on `first`."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "Start after this cursor (an edge's `cursor` or `pageInfo.endCursor`); omitted: from the start. Unreadable: VALIDATION on `after`."
        )]
        after: Option<String>,
    ) -> Result<CustomerConnection> {
        let page = PageRequest::parse(first, after.as_deref(), ctx.limits())?;
        let key = PageKey {
            customer_id: self.0.id,
            after: page.after,
            limit: page.fetch_limit(),
        };
        let rows = ctx.loader().load_one(ChildrenPage(key)).await?.unwrap_or_default();
        Ok(CustomerConnection::from_rows(
            rows,
            &page,
            Total::loaded(ChildCount(self.0.id)),
            |r| r.id,
            Customer,
        ))
    }

    /// Every customer below this one at any depth, in creation order.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn descendants(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Page size (default 20, at most 100: the server's BILLGRAPH_DEFAULT_PAGE_SIZE and BILLGRAPH_MAX_PAGE_SIZE). Negative or above the maximum: VALIDATION on `first`."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "Start after this cursor (an edge's `cursor` or `pageInfo.endCursor`); omitted: from the start. Unreadable: VALIDATION on `after`."
        )]
        after: Option<String>,
    ) -> Result<CustomerConnection> {
        let page = PageRequest::parse(first, after.as_deref(), ctx.limits())?;
        let key = PageKey {
            customer_id: self.0.id,
            after: page.after,
            limit: page.fetch_limit(),
        };
        let rows = ctx.loader().load_one(DescendantsPage(key)).await?.unwrap_or_default();
        Ok(CustomerConnection::from_rows(
            rows,
            &page,
            Total::loaded(DescendantCount(self.0.id)),
            |r| r.id,
            Customer,
        ))
    }

    /// From the parent up to the root: nearest first.
    async fn ancestors(&self, ctx: &Context<'_>) -> Result<Vec<Customer>> {
        let rows = ctx.loader().load_one(AncestorsOf(self.0.id)).await?.unwrap_or_default();
        Ok(rows.into_iter().map(Customer).collect())
    }

    /// Number of ancestors: 0 for a root customer.
    async fn depth(&self, ctx: &Context<'_>) -> Result<i32> {
        if self.0.parent_customer_id.is_none() {
            return Ok(0);
        }
        let rows = ctx.loader().load_one(AncestorsOf(self.0.id)).await?.unwrap_or_default();
        Ok(rows.len() as i32)
    }

    /// Usage per meter over [from, to) (default: the last 30 days), of this
    /// customer and, with includeChildren, its whole subtree (archived
    /// descendants included). Without meterIds: every active meter.
    async fn usage(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Start of the range, inclusive. Default: 30 days before `to`. Must be before `to`, or VALIDATION on `from`."
        )]
        from: Option<DateTime<Utc>>,
        #[graphql(desc = "End of the range, exclusive. Default: now.")] to: Option<DateTime<Utc>>,
        #[graphql(
            desc = "Meters to report, at most 100 (more: VALIDATION on `meterIds`); unknown or another tenant's ids are left out. Omitted: every active meter."
        )]
        meter_ids: Option<Vec<Uuid>>,
        #[graphql(
            default = true,
            desc = "Count the usage of every descendant too (archived ones included). Default true."
        )]
        include_children: bool,
        #[graphql(
            desc = "Also answer a time series of HOUR, DAY or MONTH windows (UTC), at most 1000 windows over the range (more: VALIDATION on `window`). Omitted: totals only."
        )]
        window: Option<UsageWindow>,
    ) -> Result<Vec<MeterUsage>> {
        let window: Option<Window> = window.map(Into::into);
        let (from, to) = usage_range(from, to, window, ctx.now()).map_err(AppError::from)?;
        let mut meter_ids = meter_ids.unwrap_or_default();
        if meter_ids.len() > MAX_USAGE_METERS {
            return Err(AppError::validation("meterIds", format!("at most {MAX_USAGE_METERS} meters")).into());
        }
        meter_ids.sort();
        meter_ids.dedup();
        let key = UsageOf {
            customer_id: self.0.id,
            query: UsageQuery {
                from,
                to,
                meter_ids,
                include_children,
                window,
            },
        };
        let primed = match (ctx.request().usage_primer.as_deref(), self.0.parent_customer_id) {
            (Some(primer), Some(parent)) => primer.primed(parent, self.0.id, &key.query).await,
            _ => None,
        };
        let usage = match primed {
            Some(usage) => usage,
            None => ctx.loader().load_one(key).await?.unwrap_or_default(),
        };
        Ok(usage
            .into_iter()
            .map(|(meter_id, totals)| MeterUsage { meter_id, totals })
            .collect())
    }

    /// The customer's subscriptions in creation order, optionally of one
    /// status (as of this request).
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn subscriptions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only subscriptions with this status as of the request. Omitted: all.")] status: Option<
            SubscriptionStatus,
        >,
        #[graphql(
            desc = "Page size (default 20, at most 100: the server's BILLGRAPH_DEFAULT_PAGE_SIZE and BILLGRAPH_MAX_PAGE_SIZE). Negative or above the maximum: VALIDATION on `first`."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "Start after this cursor (an edge's `cursor` or `pageInfo.endCursor`); omitted: from the start. Unreadable: VALIDATION on `after`."
        )]
        after: Option<String>,
    ) -> Result<SubscriptionConnection> {
        SubscriptionConnection::load(ctx, self.0.id, status, first, after).await
    }

    /// What the customer would be invoiced if every current period ended
    /// now: its own subscriptions with payer SELF and, with
    /// includeChildren, the PARENT-paid subscriptions of descendants that
    /// it is the nearest paying ancestor of.
    async fn upcoming_charges(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default = true,
            desc = "Also count the PARENT-paid subscriptions of descendants this customer pays for. Default true."
        )]
        include_children: bool,
    ) -> Result<UpcomingCharges> {
        let key = PaidSubscriptions {
            customer_id: self.0.id,
            include_children,
        };
        let subscriptions = ctx.loader().load_one(key).await?.unwrap_or_default();
        let previews =
            futures_util::future::try_join_all(subscriptions.into_iter().map(|s| upcoming_invoice(ctx, s))).await?;
        Ok(UpcomingCharges::new(previews)?)
    }

    /// The customer's wallets, of every status, in creation order.
    async fn wallets(&self, ctx: &Context<'_>) -> Result<InPlaceList<crate::graphql::wallets::wallet::Wallet>> {
        let key = crate::graphql::wallets::loaders::WalletsOf(self.0.id);
        let rows = ctx.loader().load_one(key).await?.unwrap_or_default();
        Ok(InPlaceList(
            rows.into_iter().map(crate::graphql::wallets::wallet::Wallet).collect(),
        ))
    }

    /// Invoices the customer pays (with includeChildren, those of its whole
    /// subtree), newest first.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn invoices(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only invoices with this status. Omitted: all.")] status: Option<InvoiceStatusType>,
        #[graphql(default = false, desc = "Also list the invoices of every descendant. Default false.")]
        include_children: bool,
        #[graphql(
            desc = "Page size (default 20, at most 100: the server's BILLGRAPH_DEFAULT_PAGE_SIZE and BILLGRAPH_MAX_PAGE_SIZE). Negative or above the maximum: VALIDATION on `first`."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "Start after this cursor (an edge's `cursor` or `pageInfo.endCursor`); omitted: from the start. Unreadable: VALIDATION on `after`."
        )]
        after: Option<String>,
    ) -> Result<InvoiceConnection> {
        InvoiceConnection::load(ctx, self.0.id, include_children, status, first, after).await
    }

    /// What finalized invoices still ask for, per currency (with
    /// includeChildren, those of the whole subtree).
    async fn balance_due(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = false, desc = "Also sum the invoices of every descendant. Default false.")]
        include_children: bool,
    ) -> Result<Vec<CurrencyAmount>> {
        let key = BalanceDue {
            customer_id: self.0.id,
            include_children,
        };
        let balances = ctx.loader().load_one(key).await?.unwrap_or_default();
        Ok(balances
            .into_iter()
            .map(|(currency, amount)| CurrencyAmount::new(currency.code().to_string(), amount))
            .collect())
    }

    /// What billgraph owes the customer, per currency in code order (only
    /// currencies with a balance above 0): the negative part of invoices
    /// below zero and credit notes refunded to it, less what invoices spent.
    /// Invoices spend it at finalization, before wallets.
    async fn credit_balance(&self, ctx: &Context<'_>) -> Result<Vec<CurrencyAmount>> {
        let rows = ctx
            .loader()
            .load_one(CreditBalancesOf(self.0.id))
            .await?
            .unwrap_or_default();
        Ok(rows
            .into_iter()
            .filter(|row| row.balance > Decimal::ZERO)
            .map(|row| CurrencyAmount::new(row.currency.code().to_string(), row.balance))
            .collect())
    }

    /// Credit notes of invoices the customer pays, newest first.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn credit_notes(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Page size (default 20, at most 100: the server's BILLGRAPH_DEFAULT_PAGE_SIZE and BILLGRAPH_MAX_PAGE_SIZE). Negative or above the maximum: VALIDATION on `first`."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "Start after this cursor (an edge's `cursor` or `pageInfo.endCursor`); omitted: from the start. Unreadable: VALIDATION on `after`."
        )]
        after: Option<String>,
    ) -> Result<CreditNoteConnection> {
        CreditNoteConnection::load(ctx, self.0.id, first, after).await
    }

    /// The customer's links to outside systems (Stripe, HubSpot, ...), one per provider (and per
    /// providerName for CUSTOM).
    async fn integrations(&self, ctx: &Context<'_>) -> Result<Vec<IntegrationMapping>> {
        let rows = ctx
            .loader()
            .load_one(IntegrationsOf(self.0.id))
            .await?
            .unwrap_or_default();
        Ok(rows.into_iter().map(IntegrationMapping).collect())
    }

    /// How the customer's invoices are collected.
    async fn collection_method(&self, ctx: &Context<'_>) -> Result<CollectionMethodType> {
        let method = ctx.loader().load_one(CollectionMethodOf(self.0.id)).await?;
        Ok(method.unwrap_or(CollectionMethod::SendInvoice).into())
    }

    /// The saved card invoices are charged to, read live from Stripe: the
    /// Stripe customer's invoice_settings.default_payment_method when set,
    /// else its most recently attached card. Empty when the tenant is not
    /// connected, the customer has no Stripe customer, or no card is saved.
    async fn payment_methods(&self, ctx: &Context<'_>) -> Result<Vec<PaymentMethodCard>> {
        let mappings = ctx.loader().load_one(IntegrationsOf(self.0.id));
        let connection = ctx.loader().load_one(StripeConnectionOfTenant);
        let (mappings, connection) = futures_util::try_join!(mappings, connection)?;
        let stripe_id = mappings
            .unwrap_or_default()
            .into_iter()
            .find(|m| m.provider == Provider::Stripe && m.provider_name.is_empty())
            .map(|m| m.provider_entity_id);
        let (Some(stripe_id), Some(connection)) = (stripe_id, connection) else {
            return Ok(Vec::new());
        };
        let key = ctx.state().secrets.open(&connection.secret_key_sealed)?;
        let stripe = Stripe::new(&connection.api_base, &key);
        let card = stripe
            .default_payment_method(&stripe_id)
            .await
            .map_err(crate::providers::customers::provider_failure)?;
        Ok(card
            .into_iter()
            .map(|c| PaymentMethodCard {
                id: c.id,
                brand: c.brand,
                last4: c.last4,
                exp_month: c.exp_month,
                exp_year: c.exp_year,
            })
            .collect())
    }
}
