//! Lines read with their invoices' page.
//!
//! A dashboard that lists a customer's newest invoices mostly shows their
//! lines too. The page's statement then returns each invoice's lines in
//! the invoice's own row (see `db::invoices::invoice_pages`), and they wait
//! here for the invoices' `lineItems`. Without this the lines were a
//! statement of their own, one round trip later, after the page's invoices
//! had been decoded and resolved.
//!
//! An invoice whose lines are not here goes to the lines loader as usual,
//! so the answers never depend on whether priming happened. Only read-only
//! requests prime: in a mutation, a write between the page's statement
//! and an invoice's field could make primed lines stale.

use std::collections::HashMap;
use std::sync::Mutex;

use uuid::Uuid;

use crate::db::invoices::LineRow;

#[derive(Default)]
pub struct LinePrimer {
    /// Per invoice, its lines in position order.
    lines: Mutex<HashMap<Uuid, Vec<LineRow>>>,
}

impl LinePrimer {
    /// Keeps the lines of an invoice read with its page.
    pub fn keep(&self, invoice_id: Uuid, lines: Vec<LineRow>) {
        self.lock().insert(invoice_id, lines);
    }

    /// The lines of `invoice_id`, if its page brought them. They stay for
    /// any other place the same invoice appears in the response.
    pub fn lines_of(&self, invoice_id: Uuid) -> Option<Vec<LineRow>> {
        self.lock().get(&invoice_id).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Vec<LineRow>>> {
        // Only inserts and clones run under the lock: a panic cannot leave
        // the map half-written.
        self.lines.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
