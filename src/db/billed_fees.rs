//! What the fixed fees of subscriptions already billed for a stretch of
//! their periods, read from the subscriptions' invoices.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Numeric, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use uuid::Uuid;

/// A stretch of one subscription's time: lines starting inside it count.
pub struct Stretch {
    pub subscription_id: Uuid,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

#[derive(QueryableByName, Debug, Clone, PartialEq, Eq)]
pub struct BilledFee {
    #[diesel(sql_type = SqlUuid)]
    pub subscription_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub price_id: Uuid,
    #[diesel(sql_type = Numeric)]
    pub amount: Decimal,
}

/// Per subscription and fixed price, the sum of the lines (on invoices not
/// voided) whose stretch starts inside the subscription's `stretches`: what
/// its fees billed for a period so far, in advance or as adjustments. Such
/// lines are on invoices of boundaries inside the stretch (an invoice's
/// period ends at its boundary). One statement for all of them.
pub async fn billed_fees(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    stretches: &[Stretch],
) -> QueryResult<Vec<BilledFee>> {
    if stretches.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = stretches.iter().map(|s| s.subscription_id).collect();
    let from: Vec<DateTime<Utc>> = stretches.iter().map(|s| s.from).collect();
    let to: Vec<DateTime<Utc>> = stretches.iter().map(|s| s.to).collect();
    diesel::sql_query(
        "SELECT w.subscription_id, l.price_id, sum(l.amount) AS amount
         FROM unnest($2::uuid[], $3::timestamptz[], $4::timestamptz[]) AS w(subscription_id, period_from, period_to)
         JOIN invoices i
           ON i.tenant_id = $1 AND i.subscription_id = w.subscription_id AND i.status <> 'VOIDED'
          -- Billed at a boundary inside the stretch: an index range, however
          -- long the subscription's history.
          AND i.period_end >= w.period_from AND i.period_end <= w.period_to
         JOIN invoice_line_items l
           ON l.tenant_id = $1 AND l.invoice_id = i.id
         WHERE l.price_id IS NOT NULL AND l.meter_id IS NULL
           AND l.period_start >= w.period_from AND l.period_start < w.period_to
         GROUP BY w.subscription_id, l.price_id",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Array<Timestamptz>, _>(from)
    .bind::<Array<Timestamptz>, _>(to)
    .load(conn)
    .await
}
