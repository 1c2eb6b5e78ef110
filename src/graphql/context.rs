//! Per-request data: the authenticated tenant and its DataLoaders.

use std::time::Duration;

use async_graphql::Context;
use async_graphql::dataloader::DataLoader;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::config::Limits;
use crate::db::DbPool;
use crate::graphql::batching::DispatchQueue;
use crate::graphql::loaders::TenantLoader;
use crate::state::AppState;

pub struct RequestContext {
    pub tenant_id: Uuid,
    /// The request's clock: statuses and previews in one response agree.
    pub now: DateTime<Utc>,
    /// Bound to the tenant: a loader can never return another tenant's rows.
    pub loader: DataLoader<TenantLoader>,
}

impl RequestContext {
    /// The loader's dispatches go to `queue`, to run inside the request's
    /// task (see [`crate::graphql::batching`]).
    pub fn new(state: &AppState, tenant_id: Uuid, queue: DispatchQueue) -> Self {
        let now = Utc::now();
        let loader = DataLoader::new(TenantLoader::new(state.pool.clone(), tenant_id, now), move |task| {
            queue.spawn(task)
        })
        // Dispatches wait for the query to yield anyway; no timer needed.
        .delay(Duration::ZERO);
        RequestContext { tenant_id, now, loader }
    }
}

/// Shortcuts resolvers use to reach the request's data.
pub trait ContextExt {
    fn request(&self) -> &RequestContext;
    fn tenant_id(&self) -> Uuid {
        self.request().tenant_id
    }
    fn now(&self) -> DateTime<Utc> {
        self.request().now
    }
    fn loader(&self) -> &DataLoader<TenantLoader> {
        &self.request().loader
    }
    fn state(&self) -> &AppState;
    fn pool(&self) -> &DbPool {
        &self.state().pool
    }
    fn limits(&self) -> &Limits {
        &self.state().config.limits
    }
}

impl ContextExt for Context<'_> {
    fn request(&self) -> &RequestContext {
        self.data_unchecked::<RequestContext>()
    }
    fn state(&self) -> &AppState {
        self.data_unchecked::<AppState>()
    }
}
