//! Queries and mutations of tax rates.

use async_graphql::{Context, InputObject, Object, Result};
use futures_util::FutureExt;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::db::tax_rates::{self as rows, TaxRateFilter};
use crate::domain::{country, tax_rate as rules};
use crate::error::{AppError, AppResult};
use crate::graphql::context::ContextExt;
use crate::graphql::pagination::{PageRequest, page_complexity, wants_total_count};
use crate::graphql::taxes::loaders::TaxRateById;
use crate::graphql::taxes::tax_rate::{TaxRate, TaxRateConnection};
use crate::taxes::{self, TaxRateDraft};

/// A new tax rate. VALIDATION names the bad field.
#[derive(InputObject, Debug, Clone)]
pub struct CreateTaxRateInput {
    /// Shown on invoices, 1 to 255 characters (e.g. "VAT").
    pub name: String,
    /// Percent, 0 to 100, at most 4 decimal places (e.g. "19" or "8.875").
    pub percentage: Decimal,
    /// True: already inside the line amounts (carved out of them); false: added on top.
    pub inclusive: bool,
    /// ISO 3166-1 alpha-2 code (any case, stored upper-case): customers with an address in this
    /// country are charged it, unless they have explicit rates or are exempt. Omitted: the rate
    /// applies only where set explicitly (a customer's taxRateIds).
    pub country: Option<String>,
    /// State, province or region, 1 to 64 characters; limits the rate to addresses with this state
    /// (compared without regard to case). Requires `country`.
    pub state: Option<String>,
    /// Free text, at most 500 characters; blank means none.
    pub description: Option<String>,
}

impl CreateTaxRateInput {
    fn validate(self) -> AppResult<TaxRateDraft> {
        let country = match self.country.as_deref() {
            Some(c) => Some(country::validate_country_code("input.country", c)?),
            None => None,
        };
        let state = match self.state.as_deref() {
            Some(_) if country.is_none() => {
                return Err(AppError::validation("input.state", "requires a country"));
            }
            Some(s) => Some(rules::validate_state("input.state", s)?),
            None => None,
        };
        Ok(TaxRateDraft {
            name: rules::validate_name("input.name", &self.name)?,
            percentage: rules::validate_percentage("input.percentage", self.percentage)?,
            inclusive: self.inclusive,
            country,
            state,
            description: match self.description.as_deref() {
                Some(d) => rules::validate_description("input.description", d)?,
                None => None,
            },
        })
    }
}

/// Narrows a list of tax rates; every condition given must hold.
#[derive(InputObject, Debug, Clone, Default)]
pub struct TaxRateFilterInput {
    /// Only rates of this country (ISO 3166-1 alpha-2, any case).
    pub country: Option<String>,
    /// Archived rates too; false by default.
    #[graphql(default = false)]
    pub include_archived: bool,
}

#[derive(Default)]
pub struct TaxQueryRoot;

#[Object]
impl TaxQueryRoot {
    /// The tax rate with this id, archived or not. Another tenant's id, or none: NOT_FOUND.
    async fn tax_rate(&self, ctx: &Context<'_>, #[graphql(desc = "The rate's id.")] id: Uuid) -> Result<TaxRate> {
        let row = ctx.loader().load_one(TaxRateById(id)).await?;
        Ok(TaxRate(row.ok_or_else(|| AppError::not_found("tax rate"))?))
    }

    /// The tenant's tax rates, oldest first.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn tax_rates(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Narrows the list; omitted: every live rate.")] filter: Option<TaxRateFilterInput>,
        #[graphql(
            desc = "Page size (default 20, at most 100: the server's BILLGRAPH_DEFAULT_PAGE_SIZE and BILLGRAPH_MAX_PAGE_SIZE). Negative or above the maximum: VALIDATION on `first`."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "Start after this cursor (an edge's `cursor` or `pageInfo.endCursor`); omitted: from the start. Unreadable: VALIDATION on `after`."
        )]
        after: Option<String>,
    ) -> Result<TaxRateConnection> {
        let filter = filter.unwrap_or_default();
        let filter = TaxRateFilter {
            country: match filter.country.as_deref() {
                Some(c) => Some(country::validate_country_code("filter.country", c).map_err(AppError::from)?),
                None => None,
            },
            include_archived: filter.include_archived,
        };
        let page = PageRequest::parse(first, after.as_deref(), ctx.limits())?;
        let (tenant_id, after, limit) = (ctx.tenant_id(), page.after, page.fetch_limit());
        let with_total = wants_total_count(ctx);
        let (rows, total) = ctx
            .request()
            .run(move |conn| {
                async move {
                    let rows = rows::page(conn, tenant_id, &filter, after, limit).await?;
                    let total = if with_total {
                        rows::count(conn, tenant_id, &filter).await?
                    } else {
                        0
                    };
                    Ok((rows, total))
                }
                .boxed()
            })
            .await?;
        Ok(TaxRateConnection::from_rows(rows, &page, total, |r| r.id, TaxRate))
    }
}

#[derive(Default)]
pub struct TaxMutationRoot;

#[Object]
impl TaxMutationRoot {
    /// Creates a tax rate. Rates never change: to change one, archive it and create another, so
    /// that finalized invoices keep the rate they were charged.
    async fn create_tax_rate(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The rate; VALIDATION names the bad field.")] input: CreateTaxRateInput,
    ) -> Result<TaxRate> {
        let draft = input.validate()?;
        Ok(TaxRate(taxes::create(ctx.pool(), ctx.tenant_id(), draft).await?))
    }

    /// Archives the rate: no new invoice is charged it (also where a customer lists it), and it
    /// can no longer be set on a customer; finalized invoices keep it.
    async fn archive_tax_rate(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The rate. Another tenant's id, or none: NOT_FOUND; already archived: CONFLICT.")] id: Uuid,
    ) -> Result<TaxRate> {
        Ok(TaxRate(taxes::archive(ctx.pool(), ctx.tenant_id(), id).await?))
    }
}
