//! The GraphQL API: schema, resolvers, loaders and the error contract.

pub mod batching;
pub mod billing_root;
pub mod connections;
pub mod context;
pub mod errors;
pub mod input_rules;
pub mod inputs;
pub mod inputs_plans;
pub mod loaders;
pub mod loaders_billing;
pub mod loaders_wallets;
pub mod mutation;
pub mod mutation_usage;
pub mod pagination;
pub mod plans_root;
pub mod query;
pub mod query_usage;
pub mod subscriptions_root;
pub mod types;
pub mod wallets_root;

use async_graphql::{EmptySubscription, MergedObject, SDLExportOptions, Schema};

use crate::config::Limits;
use crate::state::AppState;
use billing_root::{BillingMutationRoot, BillingQueryRoot};
use mutation::CustomerMutationRoot;
use mutation_usage::UsageMutationRoot;
use plans_root::{PlanMutationRoot, PlanQueryRoot};
use query::CustomerQueryRoot;
use query_usage::UsageQueryRoot;
use subscriptions_root::{SubscriptionMutationRoot, SubscriptionQueryRoot};
use wallets_root::{WalletMutationRoot, WalletQueryRoot};

/// Query roots merged per domain.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    CustomerQueryRoot,
    UsageQueryRoot,
    PlanQueryRoot,
    SubscriptionQueryRoot,
    WalletQueryRoot,
    BillingQueryRoot,
);

/// Mutation roots merged per domain.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    CustomerMutationRoot,
    UsageMutationRoot,
    PlanMutationRoot,
    SubscriptionMutationRoot,
    WalletMutationRoot,
    BillingMutationRoot,
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
}

/// The schema in SDL, sorted so the committed schema.graphql diffs cleanly.
pub fn sdl() -> String {
    schema_builder(&Limits::default()).finish().sdl_with_options(
        SDLExportOptions::new()
            .sorted_fields()
            .sorted_arguments()
            .sorted_enum_items(),
    )
}
