//! The GraphQL API: schema, resolvers, loaders and the error contract.

//!
//! Each feature has its folder (root resolvers, object types, inputs and
//! loaders together); the files beside them are the plumbing every feature
//! shares: the request driver and its connections, pagination, errors and
//! the input rules.

pub mod batching;
pub mod connection;
pub mod connections;
pub mod context;
pub mod coupons;
pub mod credit_notes;
pub mod customers;
pub mod errors;
pub mod in_place;
pub mod input_rules;
pub mod invoices;
pub mod loaders;
pub mod operation_name;
pub mod outbox;
pub mod pagination;
pub mod plans;
pub mod providers;
pub mod subscriptions;
pub mod taxes;
pub mod tenant_settings;
pub mod usage;
pub mod wallets;
pub mod webhooks;

use async_graphql::{EmptySubscription, MergedObject, SDLExportOptions, Schema};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::config::Limits;
use crate::state::AppState;
use coupons::root::{CouponMutationRoot, CouponQueryRoot};
use credit_notes::root::{CreditNoteMutationRoot, CreditNoteQueryRoot};
use customers::mutation::CustomerMutationRoot;
use customers::query::CustomerQueryRoot;
use invoices::root::{BillingMutationRoot, BillingQueryRoot};
use outbox::root::OutboxQueryRoot;
use plans::root::{PlanMutationRoot, PlanQueryRoot};
use providers::root::{ProviderMutationRoot, ProviderQueryRoot};
use subscriptions::changes::{SubscriptionChangeMutationRoot, SubscriptionChangeQueryRoot};
use subscriptions::root::{SubscriptionMutationRoot, SubscriptionQueryRoot};
use taxes::root::{TaxMutationRoot, TaxQueryRoot};
use tenant_settings::{TenantSettingsMutationRoot, TenantSettingsQueryRoot};
use usage::mutation::UsageMutationRoot;
use usage::query::UsageQueryRoot;
use wallets::root::{WalletMutationRoot, WalletQueryRoot};
use webhooks::root::{WebhookMutationRoot, WebhookQueryRoot};

/// Query roots merged per domain.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    CustomerQueryRoot,
    UsageQueryRoot,
    PlanQueryRoot,
    SubscriptionQueryRoot,
    SubscriptionChangeQueryRoot,
    WalletQueryRoot,
    BillingQueryRoot,
    CreditNoteQueryRoot,
    OutboxQueryRoot,
    WebhookQueryRoot,
    ProviderQueryRoot,
    CouponQueryRoot,
    TaxQueryRoot,
    TenantSettingsQueryRoot,
);

/// Mutation roots merged per domain.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    CustomerMutationRoot,
    UsageMutationRoot,
    PlanMutationRoot,
    SubscriptionMutationRoot,
    SubscriptionChangeMutationRoot,
    WalletMutationRoot,
    BillingMutationRoot,
    CreditNoteMutationRoot,
    WebhookMutationRoot,
    ProviderMutationRoot,
    CouponMutationRoot,
    TaxMutationRoot,
    TenantSettingsMutationRoot,
);

pub type BillgraphSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// The schema with its query limits; `state` is shared by every request.
pub fn build_schema(state: AppState) -> BillgraphSchema {
    let limits = state.config.limits.clone();
    schema_builder(&limits).data(state).finish()
}

fn schema_builder(limits: &Limits) -> async_graphql::SchemaBuilder<QueryRoot, MutationRoot, EmptySubscription> {
    Schema::build(QueryRoot::default(), MutationRoot::default(), EmptySubscription)
        .limit_depth(limits.max_query_depth)
        .limit_complexity(limits.max_query_complexity)
        // The library's own texts describe its Rust types, not the wire format.
        .override_output_type_description::<DateTime<Utc>>(DATE_TIME_DESCRIPTION)
        .override_output_type_description::<Uuid>(UUID_DESCRIPTION)
        .override_output_type_description::<Decimal>(DECIMAL_DESCRIPTION)
        .override_output_type_description::<async_graphql::Json<serde_json::Value>>(JSON_DESCRIPTION)
}

const DATE_TIME_DESCRIPTION: &str = "An instant as an RFC 3339 string. Answers are in UTC, offset `+00:00` \
(e.g. `2026-03-01T00:00:00+00:00`, with fractional seconds when there are any); inputs may carry any offset and \
are stored to the microsecond.";

const UUID_DESCRIPTION: &str = "A UUID as a string in its hyphenated form \
(e.g. `0190c0de-7a1b-7c3d-8e4f-5a6b7c8d9e0f`). New ids are version 7 (time-ordered).";

const DECIMAL_DESCRIPTION: &str = "An exact decimal number as a string (e.g. `\"12.50\"`, `\"-3\"`), never a \
float. Money amounts are in the currency's major unit (`\"12.50\"` USD is twelve dollars fifty), rounded \
to its minor unit where a field says so; credits and quantities carry the precision the field states. \
Inputs also accept a JSON number, but a string keeps every digit.";

const JSON_DESCRIPTION: &str = "Any JSON value (RFC 8259), given and answered as JSON itself, not as a \
string. Fields that take one say which shape they accept (e.g. an object) and how large it may be.";

/// The schema in SDL, sorted so the committed schema.graphql diffs cleanly.
pub fn sdl() -> String {
    schema_builder(&Limits::default()).finish().sdl_with_options(
        SDLExportOptions::new()
            .sorted_fields()
            .sorted_arguments()
            .sorted_enum_items()
            .include_specified_by(),
    )
}
