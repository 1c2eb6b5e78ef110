//! An invoice's discounts and taxes as the API shows them.

use async_graphql::{Context, Object, Result};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::db::invoice_adjustments::{CreditNoteTaxRow, InvoiceDiscountRow, InvoiceTaxRow};
use crate::domain::money::{Currency, round_amount};
use crate::error::AppError;
use crate::graphql::context::ContextExt;
use crate::graphql::coupons::coupon::Coupon;
use crate::graphql::coupons::discount::Discount;
use crate::graphql::coupons::loaders::{CouponById, DiscountById};
use crate::graphql::invoices::loaders::{LineDiscountsOfInvoice, LineItemById};
use crate::graphql::taxes::loaders::TaxRateById;
use crate::graphql::taxes::tax_rate::TaxRate;

/// A discount as one invoice applied it: its own line on the invoice.
#[derive(Clone)]
pub struct InvoiceDiscount {
    pub row: InvoiceDiscountRow,
    pub currency: Currency,
}

/// A discount as one invoice applied it: its own line on the invoice.
#[Object]
impl InvoiceDiscount {
    /// The discount (the coupon applied to the customer or subscription).
    async fn discount(&self, ctx: &Context<'_>) -> Result<Discount> {
        let row = ctx.loader().load_one(DiscountById(self.row.discount_id)).await?;
        Ok(Discount(row.ok_or_else(|| AppError::not_found("discount"))?))
    }

    /// The coupon it comes from, as it is now (`description` keeps its
    /// name and code as they were).
    async fn coupon(&self, ctx: &Context<'_>) -> Result<Coupon> {
        let row = ctx.loader().load_one(CouponById(self.row.coupon_id)).await?;
        Ok(Coupon(row.ok_or_else(|| AppError::not_found("coupon"))?))
    }

    /// The coupon's name and code when the invoice was computed, e.g. "Spring sale (SPRING20)".
    async fn description(&self) -> &str {
        &self.row.description
    }

    /// What it took off the invoice (0 when none of its lines were left to reduce).
    async fn amount(&self) -> Decimal {
        round_amount(self.row.amount, self.currency)
    }

    /// The lines it reduced, and by how much each.
    async fn lines(&self, ctx: &Context<'_>) -> Result<Vec<LineDiscount>> {
        let rows = ctx
            .loader()
            .load_one(LineDiscountsOfInvoice(self.row.invoice_id))
            .await?
            .unwrap_or_default();
        Ok(rows
            .into_iter()
            .filter(|r| r.discount_id == self.row.discount_id)
            .map(|r| LineDiscount {
                line_item_id: r.line_item_id,
                amount: round_amount(r.amount, self.currency),
                currency: self.currency,
            })
            .collect())
    }
}

/// What a discount took off one line.
#[derive(Clone)]
pub struct LineDiscount {
    line_item_id: Uuid,
    amount: Decimal,
    currency: Currency,
}

/// What a discount took off one line.
#[Object]
impl LineDiscount {
    /// The line reduced.
    async fn line_item(&self, ctx: &Context<'_>) -> Result<Option<super::invoice::InvoiceLineItem>> {
        let row = ctx.loader().load_one(LineItemById(self.line_item_id)).await?;
        Ok(row.map(|row| super::invoice::InvoiceLineItem {
            currency: self.currency,
            row,
        }))
    }

    /// The line reduced.
    async fn line_item_id(&self) -> Uuid {
        self.line_item_id
    }

    /// What the discount took off it.
    async fn amount(&self) -> Decimal {
        self.amount
    }
}

/// One tax rate's share of an invoice, with the rate as it was when the
/// invoice was computed (finalized invoices never change).
#[derive(Clone)]
pub struct InvoiceTax {
    pub row: InvoiceTaxRow,
    pub currency: Currency,
}

/// One tax rate's share of an invoice, with the rate as it was when the
/// invoice was computed.
#[Object]
impl InvoiceTax {
    /// The tax rate as it is now (the fields below are as it was).
    async fn tax_rate(&self, ctx: &Context<'_>) -> Result<TaxRate> {
        let row = ctx.loader().load_one(TaxRateById(self.row.tax_rate_id)).await?;
        Ok(TaxRate(row.ok_or_else(|| AppError::not_found("tax rate"))?))
    }

    /// The rate's name, e.g. "VAT".
    async fn name(&self) -> &str {
        &self.row.name
    }

    /// The rate in percent, e.g. 19 for 19 %.
    async fn percentage(&self) -> Decimal {
        self.row.percentage.normalize()
    }

    /// True: carved out of the line amounts (already inside the subtotal);
    /// false: added to the total.
    async fn inclusive(&self) -> bool {
        self.row.inclusive
    }

    /// What the rate was charged on: the lines after discounts, without inclusive taxes.
    async fn taxable_amount(&self) -> Decimal {
        round_amount(self.row.taxable_amount, self.currency)
    }

    /// The tax: the sum of the rate's per-line taxes, each rounded once.
    async fn amount(&self) -> Decimal {
        round_amount(self.row.amount, self.currency)
    }
}

/// The tax a credit note gave back for one rate.
#[derive(Clone)]
pub struct CreditNoteTax {
    pub row: CreditNoteTaxRow,
    pub currency: Currency,
}

/// The tax a credit note gave back for one rate.
#[Object]
impl CreditNoteTax {
    /// The tax rate as it is now.
    async fn tax_rate(&self, ctx: &Context<'_>) -> Result<TaxRate> {
        let row = ctx.loader().load_one(TaxRateById(self.row.tax_rate_id)).await?;
        Ok(TaxRate(row.ok_or_else(|| AppError::not_found("tax rate"))?))
    }

    /// The rate's name as on the invoice.
    async fn name(&self) -> &str {
        &self.row.name
    }

    /// The rate in percent.
    async fn percentage(&self) -> Decimal {
        self.row.percentage.normalize()
    }

    /// Whether the rate was inclusive.
    async fn inclusive(&self) -> bool {
        self.row.inclusive
    }

    /// The tax reversed: the credit's share of the tax it credits.
    async fn amount(&self) -> Decimal {
        round_amount(self.row.amount, self.currency)
    }
}
