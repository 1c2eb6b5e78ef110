//! Heavy statements planned once per connection instead of once per run.
//!
//! PostgreSQL plans a prepared statement afresh on each run until a generic
//! plan (one made without the bound values) looks no costlier than the
//! custom ones. The usage statement's generic plan never does: its cost
//! estimate rests on default sizes for the bound arrays. So every run paid
//! 3-4 ms of planning and 1.3 ms of parsing for 25-30 ms of work, although
//! its plan has the same shape whatever the values (its CTEs are
//! materialized and its laterals pinned with OFFSET 0); the generic plan
//! runs just as fast. [`open`] and [`close`] keep such a statement
//! prepared and run it in a read-only transaction with
//! `plan_cache_mode = force_generic_plan`, so it is planned once per
//! connection, and no other statement's planning changes.
//!
//! A kept statement costs its connection about 1.5 MB of plan memory, and
//! a usage statement's text depends on its meters (their aggregations and
//! filters) and its window. So a server keeps at most [`KEPT_TEXTS`]
//! texts, the first it meets; any other is planned on each run, as before.
//! Each costs two more round trips than a bare statement (BEGIN with the
//! setting, and COMMIT): about 0.1 ms against the 4-5 ms saved.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Mutex, OnceLock, PoisonError};

use diesel::QueryResult;
use diesel_async::{AnsiTransactionManager, AsyncPgConnection, TransactionManager};

/// How many statement texts a server keeps planned.
pub const KEPT_TEXTS: usize = 8;

/// Opens the transaction a kept statement runs in: one round trip.
const GENERIC_PLAN_TRANSACTION: &str = "BEGIN READ ONLY; SET LOCAL plan_cache_mode = force_generic_plan";

/// Whether `sql` is (or now becomes) one of the kept texts.
fn keeps(sql: &str) -> bool {
    static KEPT: OnceLock<Mutex<HashSet<u64>>> = OnceLock::new();
    let mut hasher = DefaultHasher::new();
    sql.hash(&mut hasher);
    let hash = hasher.finish();
    let mut kept = KEPT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    kept.contains(&hash) || (kept.len() < KEPT_TEXTS && kept.insert(hash))
}

/// How a statement begun with [`open`] is to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Planning {
    /// `.prepared()`, with the generic plan its connection keeps, in a
    /// transaction that [`close`] ends.
    Kept,
    /// Planned for its values (a text past [`KEPT_TEXTS`]), in a
    /// transaction all the same, so that every such statement costs the
    /// same round trips.
    PerRun,
    /// Planned for its values inside the caller's transaction, where the
    /// setting would outlive the statement.
    CallersTransaction,
}

/// Begins a statement whose text is `sql`. Run it `.prepared()` when this
/// answers [`Planning::Kept`], as usual otherwise, and pass its result to
/// [`close`].
///
/// (Two calls around the caller's own `load`, rather than one taking the
/// query: the statement borrows its binds, and a helper generic over it
/// would not be provably `Send` for every lifetime.)
pub async fn open(conn: &mut AsyncPgConnection, sql: &str) -> QueryResult<Planning> {
    let in_transaction = AnsiTransactionManager::transaction_manager_status_mut(conn)
        .transaction_depth()?
        .is_some();
    if in_transaction {
        return Ok(Planning::CallersTransaction);
    }
    let (planning, begin) = if keeps(sql) {
        (Planning::Kept, GENERIC_PLAN_TRANSACTION)
    } else {
        (Planning::PerRun, "BEGIN READ ONLY")
    };
    // The transaction manager tracks this transaction: if the caller drops
    // the future half way, the connection is discarded, not reused inside it.
    AnsiTransactionManager::begin_transaction_sql(conn, begin).await?;
    Ok(planning)
}

/// Ends what [`open`] began, passing on the statement's result.
pub async fn close<T>(conn: &mut AsyncPgConnection, planning: Planning, result: QueryResult<T>) -> QueryResult<T> {
    if planning == Planning::CallersTransaction {
        return result;
    }
    match result {
        Ok(rows) => {
            AnsiTransactionManager::commit_transaction(conn).await?;
            Ok(rows)
        }
        Err(error) => {
            // A failed rollback leaves the connection marked broken, which
            // the pool then drops; the statement's own error is the one to
            // report.
            let _ = AnsiTransactionManager::rollback_transaction(conn).await;
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_the_first_texts_are_kept() {
        // The set is the server's: other tests may have filled some of it.
        let mut kept = 0;
        for i in 0..KEPT_TEXTS * 2 {
            let sql = format!("SELECT {i} -- generic plan test");
            if keeps(&sql) {
                kept += 1;
                assert!(keeps(&sql), "a kept text stays kept");
            }
        }
        assert!(kept <= KEPT_TEXTS, "{kept} texts kept");
        assert!(!keeps("SELECT 'one past the limit' -- generic plan test"));
    }
}
