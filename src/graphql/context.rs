//! Per-request data: the authenticated tenant, its DataLoaders, and the
//! way resolvers run their statements.

use std::sync::Arc;
use std::time::Duration;

use async_graphql::Context;
use async_graphql::dataloader::DataLoader;
use chrono::{DateTime, Utc};
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use futures_util::future::BoxFuture;
use uuid::Uuid;

use crate::config::Limits;
use crate::db::DbPool;
use crate::error::AppError;
use crate::graphql::batching::DispatchQueue;
use crate::graphql::connections::RequestConnections;
use crate::graphql::invoices::line_primer::LinePrimer;
use crate::graphql::loaders::TenantLoader;
use crate::graphql::usage::primer::UsagePrimer;
use crate::state::AppState;

pub struct RequestContext {
    pub tenant_id: Uuid,
    /// The request's clock: statuses and previews in one response agree.
    pub now: DateTime<Utc>,
    /// Bound to the tenant: a loader can never return another tenant's rows.
    pub loader: DataLoader<TenantLoader>,
    /// Read-only requests only (see [`UsagePrimer`]).
    pub usage_primer: Option<Arc<UsagePrimer>>,
    /// Read-only requests only (see [`LinePrimer`]).
    pub line_primer: Option<Arc<LinePrimer>>,
    connections: Arc<RequestConnections>,
    queue: DispatchQueue,
}

impl RequestContext {
    /// The loader's dispatches go to `queue`, to run inside the request's
    /// task (see [`crate::graphql::batching`]).
    /// `read_only`: the request runs a query, no mutation.
    pub fn new(state: &AppState, tenant_id: Uuid, queue: DispatchQueue, read_only: bool) -> Self {
        let now = Utc::now();
        let usage_primer = read_only.then(|| Arc::new(UsagePrimer::default()));
        let line_primer = read_only.then(|| Arc::new(LinePrimer::default()));
        let connections = Arc::new(RequestConnections::new(
            state.pool.clone(),
            state.config.sharing.connections_per_request,
            state.heavy_statements.clone(),
        ));
        let loader_queue = queue.clone();
        let loader = DataLoader::new(
            TenantLoader::new(
                connections.clone(),
                tenant_id,
                now,
                usage_primer.clone(),
                line_primer.clone(),
            ),
            move |task| loader_queue.spawn(task),
        )
        // Dispatches wait for the query to yield anyway; no timer needed.
        .delay(Duration::ZERO);
        RequestContext {
            tenant_id,
            now,
            loader,
            usage_primer,
            line_primer,
            connections,
            queue,
        }
    }

    /// Runs `work` on one of the request's connections. It runs beside the
    /// loader dispatches, in the request's driver, so its connection is
    /// never held by a future that nobody polls.
    pub async fn run<T, F>(&self, work: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AsyncPgConnection) -> BoxFuture<'c, QueryResult<T>> + Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let connections = self.connections.clone();
        self.queue.spawn(Box::pin(async move {
            let result = match connections.get().await {
                Ok(mut conn) => work(&mut conn).await.map_err(AppError::from),
                Err(e) => Err(e),
            };
            let _ = answer.send(result);
        }));
        answered
            .await
            .map_err(|_| AppError::Internal(anyhow::anyhow!("the request's driver stopped before the statement ran")))?
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
    /// For mutations' services only: mutations run one at a time, with no
    /// loader in flight, so a service's connection is always polled.
    /// Queries run their statements through [`RequestContext::run`].
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
