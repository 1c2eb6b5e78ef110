//! DataLoaders for wallets and their ledgers: one statement per relation,
//! whatever the number of parents.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use uuid::Uuid;

use crate::db::wallets::{self, TransactionPageKey, TransactionRow, WalletRow};
use crate::error::SharedError;
use crate::graphql::loaders::{TenantLoader, grouped_by_position, rows_by_id, rows_of_parent, shared};

rows_by_id! {
    WalletById => WalletRow, wallets::wallets_by_ids
}

rows_of_parent! {
    /// Every wallet of a customer, in creation order.
    WalletsOf => WalletRow, wallets::wallets_of_customers, customer_id
}

/// One page of a wallet's ledger, newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WalletTransactionsPage(pub TransactionPageKey);

/// How many entries a wallet's ledger holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WalletTransactionCount(pub Uuid);

impl Loader<WalletTransactionsPage> for TenantLoader {
    type Value = Vec<TransactionRow>;
    type Error = SharedError;

    async fn load(
        &self,
        keys: &[WalletTransactionsPage],
    ) -> Result<HashMap<WalletTransactionsPage, Vec<TransactionRow>>, SharedError> {
        let page_keys: Vec<TransactionPageKey> = keys.iter().map(|k| k.0).collect();
        let rows = wallets::transaction_pages(&mut *self.conn().await?, self.tenant_id(), &page_keys)
            .await
            .map_err(shared)?;
        Ok(grouped_by_position(
            keys,
            rows.into_iter().map(|row| (row.idx, row.transaction)),
        ))
    }
}

impl Loader<WalletTransactionCount> for TenantLoader {
    type Value = i64;
    type Error = SharedError;

    async fn load(&self, keys: &[WalletTransactionCount]) -> Result<HashMap<WalletTransactionCount, i64>, SharedError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let counts: HashMap<Uuid, i64> = wallets::transaction_counts(&mut *self.conn().await?, self.tenant_id(), &ids)
            .await
            .map_err(shared)?
            .into_iter()
            .collect();
        Ok(keys
            .iter()
            .map(|k| (*k, counts.get(&k.0).copied().unwrap_or(0)))
            .collect())
    }
}
