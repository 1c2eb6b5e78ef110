//! The tenant's own settings: what its documents print about it.

use async_graphql::{Context, InputObject, MaybeUndefined, Object, Result};
use futures_util::FutureExt;

use crate::db::customers::AddressColumns;
use crate::db::tenants::{self, TenantSettingsChanges, TenantSettingsRow};
use crate::domain::{customer as customer_rules, tenant as rules};
use crate::error::AppResult;
use crate::graphql::context::ContextExt;
use crate::graphql::customers::customer::Address;
use crate::graphql::customers::inputs::AddressInput;

pub struct TenantSettings(pub TenantSettingsRow);

/// What the tenant's invoices and credit notes print about it. Every field but `name` is
/// optional; a document without a displayName shows the name.
#[Object]
impl TenantSettings {
    /// The tenant's own name, as its API keys were created for.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The name documents show instead of `name`.
    async fn display_name(&self) -> Option<&str> {
        self.0.display_name.as_deref()
    }

    /// The postal address documents show; null when no part is set.
    async fn address(&self) -> Option<Address> {
        let r = &self.0;
        let parts = [
            &r.address_line1,
            &r.address_line2,
            &r.address_city,
            &r.address_state,
            &r.address_postal_code,
            &r.address_country,
        ];
        parts.iter().any(|p| p.is_some()).then(|| Address {
            line1: r.address_line1.clone(),
            line2: r.address_line2.clone(),
            city: r.address_city.clone(),
            state: r.address_state.clone(),
            postal_code: r.address_postal_code.clone(),
            country: r.address_country.clone(),
        })
    }

    /// The contact email documents show.
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }

    /// An https URL of the logo documents show.
    async fn logo_url(&self) -> Option<&str> {
        self.0.logo_url.as_deref()
    }

    /// Text printed at the foot of every invoice (payment instructions, legal notes).
    async fn invoice_footer(&self) -> Option<&str> {
        self.0.invoice_footer.as_deref()
    }
}

/// Changes to the settings: only the fields given change; a field given as null is cleared.
/// VALIDATION names the bad field.
#[derive(InputObject, Debug, Clone, Default)]
pub struct UpdateTenantSettingsInput {
    /// 1 to 255 characters.
    pub display_name: MaybeUndefined<String>,
    /// Replaces the whole address (each part at most 255 characters, country an ISO 3166-1
    /// alpha-2 code); null removes it.
    pub address: MaybeUndefined<AddressInput>,
    /// A contact email address (at most 254 characters).
    pub email: MaybeUndefined<String>,
    /// An absolute https URL, at most 2048 characters.
    pub logo_url: MaybeUndefined<String>,
    /// At most 2000 characters; line breaks are kept; blank clears it.
    pub invoice_footer: MaybeUndefined<String>,
}

/// `Some(None)` for null, `Some(check(value))` for a value, None when not given.
fn change<T>(
    value: MaybeUndefined<T>,
    check: impl FnOnce(T) -> AppResult<Option<String>>,
) -> AppResult<Option<Option<String>>> {
    match value {
        MaybeUndefined::Undefined => Ok(None),
        MaybeUndefined::Null => Ok(Some(None)),
        MaybeUndefined::Value(v) => Ok(Some(check(v)?)),
    }
}

impl UpdateTenantSettingsInput {
    fn validate(self) -> AppResult<TenantSettingsChanges> {
        let address = match self.address {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(AddressColumns::default()),
            MaybeUndefined::Value(a) => Some(a.validate("input.address")?),
        };
        let mut changes = TenantSettingsChanges {
            display_name: change(self.display_name, |v| {
                Ok(Some(rules::validate_display_name("input.displayName", &v)?))
            })?,
            email: change(self.email, |v| {
                Ok(Some(customer_rules::validate_email("input.email", &v)?))
            })?,
            logo_url: change(self.logo_url, |v| {
                Ok(Some(rules::validate_logo_url("input.logoUrl", &v)?))
            })?,
            invoice_footer: change(self.invoice_footer, |v| {
                Ok(rules::validate_invoice_footer("input.invoiceFooter", &v)?)
            })?,
            ..TenantSettingsChanges::default()
        };
        if let Some(a) = address {
            changes.address_line1 = Some(a.address_line1);
            changes.address_line2 = Some(a.address_line2);
            changes.address_city = Some(a.address_city);
            changes.address_state = Some(a.address_state);
            changes.address_postal_code = Some(a.address_postal_code);
            changes.address_country = Some(a.address_country);
        }
        Ok(changes)
    }
}

#[derive(Default)]
pub struct TenantSettingsQueryRoot;

#[Object]
impl TenantSettingsQueryRoot {
    /// The settings of the API key's tenant.
    async fn tenant_settings(&self, ctx: &Context<'_>) -> Result<TenantSettings> {
        let tenant_id = ctx.tenant_id();
        let row = ctx
            .request()
            .run(move |conn| async move { tenants::settings(conn, tenant_id).await }.boxed())
            .await?;
        Ok(TenantSettings(row))
    }
}

#[derive(Default)]
pub struct TenantSettingsMutationRoot;

#[Object]
impl TenantSettingsMutationRoot {
    /// Changes what the tenant's documents print about it; documents already finalized keep
    /// what they printed.
    async fn update_tenant_settings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The fields to change; VALIDATION names the bad field (e.g. `input.logoUrl`).")]
        input: UpdateTenantSettingsInput,
    ) -> Result<TenantSettings> {
        let changes = input.validate()?;
        let row = crate::tenants::update_settings(ctx.pool(), ctx.tenant_id(), changes).await?;
        Ok(TenantSettings(row))
    }
}
