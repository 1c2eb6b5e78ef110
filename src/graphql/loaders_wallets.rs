//! DataLoaders for wallets and their ledgers: one statement per relation,
//! whatever the number of parents.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use uuid::Uuid;

use crate::db::wallets::{self, TransactionPageKey, TransactionRow, WalletRow};
use crate::error::SharedError;
use crate::graphql::loaders::{TenantLoader, grouped, grouped_by_position, shared};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WalletById(pub Uuid);

/// Every wallet of a customer, in creation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WalletsOf(pub Uuid);

/// One page of a wallet's ledger, newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WalletTransactionsPage(pub TransactionPageKey);

/// How many entries a wallet's ledger holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WalletTransactionCount(pub Uuid);

impl Loader<WalletById> for TenantLoader {
    type Value = WalletRow;
    type Error = SharedError;

    async fn load(&self, keys: &[WalletById]) -> Result<HashMap<WalletById, WalletRow>, SharedError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = wallets::wallets_by_ids(&mut *self.conn().await?, self.tenant_id(), &ids)
            .await
            .map_err(shared)?;
        Ok(rows.into_iter().map(|r| (WalletById(r.id), r)).collect())
    }
}

impl Loader<WalletsOf> for TenantLoader {
    type Value = Vec<WalletRow>;
    type Error = SharedError;

    async fn load(&self, keys: &[WalletsOf]) -> Result<HashMap<WalletsOf, Vec<WalletRow>>, SharedError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = wallets::wallets_of_customers(&mut *self.conn().await?, self.tenant_id(), &ids)
            .await
            .map_err(shared)?;
        Ok(grouped(keys, rows.into_iter().map(|r| (WalletsOf(r.customer_id), r))))
    }
}

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
