//! Events by id, for `webhookEvent` and the event of each webhook delivery.

use crate::db::outbox::OutboxEventRow;
use crate::graphql::loaders::rows_by_id;

rows_by_id! {
    WebhookEventById => OutboxEventRow, crate::db::outbox::events_by_ids
}
