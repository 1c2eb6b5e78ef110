//! DataLoaders of credit notes, their lines and refunds, and credit
//! balances: one statement per relation, whatever the number of parents.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use uuid::Uuid;

use crate::db::credit_balances::{self, CreditBalanceRow};
use crate::db::credit_notes::{self, CreditNoteLineRow, CreditNotePageKey, CreditNoteRow, RefundRow};
use crate::error::SharedError;
use crate::graphql::loaders::{TenantLoader, grouped_by_position, rows_by_id, rows_of_parent, shared};

rows_by_id! {
    CreditNoteById => CreditNoteRow, credit_notes::credit_notes_by_ids
}

rows_of_parent! {
    /// The credit notes of an invoice, oldest first.
    CreditNotesOfInvoice => CreditNoteRow, credit_notes::credit_notes_of_invoices, invoice_id
}

rows_of_parent! {
    CreditNoteLinesOf => CreditNoteLineRow, credit_notes::lines_of_credit_notes, credit_note_id
}

rows_of_parent! {
    RefundsOf => RefundRow, credit_notes::refunds_of_credit_notes, credit_note_id
}

rows_of_parent! {
    /// A customer's credit balances, by currency code.
    CreditBalancesOf => CreditBalanceRow, credit_balances::balances_of_customers, customer_id
}

/// One page of a customer's credit notes, newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CreditNotesPage(pub CreditNotePageKey);

impl Loader<CreditNotesPage> for TenantLoader {
    type Value = Vec<CreditNoteRow>;
    type Error = SharedError;

    async fn load(
        &self,
        keys: &[CreditNotesPage],
    ) -> Result<HashMap<CreditNotesPage, Vec<CreditNoteRow>>, SharedError> {
        let page_keys: Vec<CreditNotePageKey> = keys.iter().map(|k| k.0).collect();
        let rows = credit_notes::credit_note_pages(&mut *self.conn().await?, self.tenant_id(), &page_keys)
            .await
            .map_err(shared)?;
        Ok(grouped_by_position(
            keys,
            rows.into_iter().map(|row| (row.idx, row.credit_note)),
        ))
    }
}

/// How many credit notes a customer has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CreditNoteCount(pub Uuid);

impl Loader<CreditNoteCount> for TenantLoader {
    type Value = i64;
    type Error = SharedError;

    async fn load(&self, keys: &[CreditNoteCount]) -> Result<HashMap<CreditNoteCount, i64>, SharedError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let counts: HashMap<Uuid, i64> =
            credit_notes::credit_note_counts(&mut *self.conn().await?, self.tenant_id(), &ids)
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
