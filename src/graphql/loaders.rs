//! The request's DataLoader and the pieces every feature's loaders share:
//! each relation a resolver follows is batched into one statement per kind
//! of relation, whatever the number of parents.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::{AppError, SharedError};
use crate::graphql::connections::{HeavyClaim, RequestConn, RequestConnections};
use crate::graphql::invoices::line_primer::LinePrimer;
use crate::graphql::usage::primer::UsagePrimer;

/// Loads rows of one tenant; the tenant is fixed when the request starts.
pub struct TenantLoader {
    connections: Arc<RequestConnections>,
    tenant_id: Uuid,
    /// The request's clock, for rows whose state depends on time.
    now: DateTime<Utc>,
    /// Read-only requests only: where subtree usage leaves its children's.
    usage_primer: Option<Arc<UsagePrimer>>,
    /// Read-only requests only: where invoice pages leave their lines.
    line_primer: Option<Arc<LinePrimer>>,
}

impl TenantLoader {
    pub fn new(
        connections: Arc<RequestConnections>,
        tenant_id: Uuid,
        now: DateTime<Utc>,
        usage_primer: Option<Arc<UsagePrimer>>,
        line_primer: Option<Arc<LinePrimer>>,
    ) -> Self {
        TenantLoader {
            connections,
            tenant_id,
            now,
            usage_primer,
            line_primer,
        }
    }

    /// A connection of the request's budget, for one dispatch's statements.
    pub(crate) async fn conn(&self) -> Result<RequestConn, SharedError> {
        self.connections.get().await.map_err(SharedError::new)
    }

    /// The parts a heavy batch runs as (see
    /// [`HeavyStatements`](crate::graphql::connections::HeavyStatements)).
    pub(crate) fn claim_heavy(&self, wanted: usize) -> HeavyClaim {
        self.connections.claim_heavy(wanted)
    }

    pub(crate) fn tenant_id(&self) -> Uuid {
        self.tenant_id
    }

    /// The request's clock.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.now
    }

    pub(crate) fn usage_primer(&self) -> Option<&UsagePrimer> {
        self.usage_primer.as_deref()
    }

    pub(crate) fn line_primer(&self) -> Option<&LinePrimer> {
        self.line_primer.as_deref()
    }
}

pub(crate) fn shared(err: diesel::result::Error) -> SharedError {
    SharedError::new(AppError::from(err))
}

/// Declares the key `$key(Uuid)` and its loader: the rows with those ids,
/// read by `$query(conn, tenant_id, &ids)` in one statement.
macro_rules! rows_by_id {
    ($(#[$meta:meta])* $key:ident => $row:ty, $query:path) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $key(pub ::uuid::Uuid);

        impl ::async_graphql::dataloader::Loader<$key> for $crate::graphql::loaders::TenantLoader {
            type Value = $row;
            type Error = $crate::error::SharedError;

            async fn load(
                &self,
                keys: &[$key],
            ) -> Result<::std::collections::HashMap<$key, $row>, $crate::error::SharedError> {
                let ids: Vec<::uuid::Uuid> = keys.iter().map(|k| k.0).collect();
                let rows = $query(&mut *self.conn().await?, self.tenant_id(), &ids)
                    .await
                    .map_err($crate::graphql::loaders::shared)?;
                Ok(rows.into_iter().map(|r| ($key(r.id), r)).collect())
            }
        }
    };
}

/// Declares the key `$key(Uuid)` and its loader: for each parent id, the
/// rows whose `$parent` field holds it, in the order `$query(conn,
/// tenant_id, &ids)` returns them, all in one statement.
macro_rules! rows_of_parent {
    ($(#[$meta:meta])* $key:ident => $row:ty, $query:path, $parent:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $key(pub ::uuid::Uuid);

        impl ::async_graphql::dataloader::Loader<$key> for $crate::graphql::loaders::TenantLoader {
            type Value = Vec<$row>;
            type Error = $crate::error::SharedError;

            async fn load(
                &self,
                keys: &[$key],
            ) -> Result<::std::collections::HashMap<$key, Vec<$row>>, $crate::error::SharedError> {
                let ids: Vec<::uuid::Uuid> = keys.iter().map(|k| k.0).collect();
                let rows = $query(&mut *self.conn().await?, self.tenant_id(), &ids)
                    .await
                    .map_err($crate::graphql::loaders::shared)?;
                Ok($crate::graphql::loaders::grouped(
                    keys,
                    rows.into_iter().map(|r| ($key(r.$parent), r)),
                ))
            }
        }
    };
}

pub(crate) use {rows_by_id, rows_of_parent};

/// Values grouped under their keys; every key gets a list, empty when no
/// value belongs to it (a loader must answer every key it was asked).
pub(crate) fn grouped<K: Copy + Eq + Hash, V>(
    keys: &[K],
    pairs: impl IntoIterator<Item = (K, V)>,
) -> HashMap<K, Vec<V>> {
    let mut out: HashMap<K, Vec<V>> = keys.iter().map(|k| (*k, Vec::new())).collect();
    for (key, value) in pairs {
        out.entry(key).or_default().push(value);
    }
    out
}

/// Values grouped under the key at their 1-based position in `keys` (the
/// `WITH ORDINALITY` index the batched statements return).
pub(crate) fn grouped_by_position<K: Copy + Eq + Hash, V>(
    keys: &[K],
    rows: impl IntoIterator<Item = (i64, V)>,
) -> HashMap<K, Vec<V>> {
    let keyed = rows.into_iter().filter_map(|(idx, value)| {
        let key = usize::try_from(idx - 1).ok().and_then(|i| keys.get(i))?;
        Some((*key, value))
    });
    grouped(keys, keyed)
}
