//! The provider_connections, provider_tasks, payment_attempts and
//! provider_events tables, and the collection method columns.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, Integer, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{customers, payment_attempts, provider_connections, provider_events, provider_tasks, refunds};
use crate::domain::provider::{AttemptStatus, CollectionMethod, ProviderKind, TaskKind};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = provider_connections, check_for_backend(Pg))]
pub struct ConnectionRow {
    pub tenant_id: Uuid,
    pub provider: ProviderKind,
    pub api_base: String,
    pub secret_key_sealed: Vec<u8>,
    pub webhook_secret_sealed: Vec<u8>,
    pub key_hint: String,
    pub connected_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = provider_tasks, check_for_backend(Pg))]
pub struct TaskRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub kind: TaskKind,
    pub object_id: Uuid,
    pub attempt: i32,
    pub run_after: DateTime<Utc>,
    pub locked_until: Option<DateTime<Utc>>,
    pub generation: i32,
    pub tries: i32,
    pub last_error: Option<String>,
    pub done_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = payment_attempts, check_for_backend(Pg))]
pub struct AttemptRow {
    pub tenant_id: Uuid,
    pub invoice_id: Uuid,
    pub attempt: i32,
    pub provider: ProviderKind,
    pub payment_intent_id: Option<String>,
    pub status: AttemptStatus,
    pub error: Option<String>,
    pub next_retry_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Creates the tenant's connection, or replaces its settings and secrets.
pub async fn upsert_connection(conn: &mut AsyncPgConnection, row: &ConnectionRow) -> QueryResult<ConnectionRow> {
    use provider_connections as c;
    diesel::insert_into(c::table)
        .values(row)
        .on_conflict((c::tenant_id, c::provider))
        .do_update()
        .set((
            c::api_base.eq(&row.api_base),
            c::secret_key_sealed.eq(&row.secret_key_sealed),
            c::webhook_secret_sealed.eq(&row.webhook_secret_sealed),
            c::key_hint.eq(&row.key_hint),
            c::connected_at.eq(row.connected_at),
        ))
        .returning(ConnectionRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn delete_connection(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    provider: ProviderKind,
) -> QueryResult<bool> {
    use provider_connections as c;
    let deleted = diesel::delete(
        c::table
            .filter(c::tenant_id.eq(tenant_id))
            .filter(c::provider.eq(provider)),
    )
    .execute(conn)
    .await?;
    Ok(deleted > 0)
}

pub async fn find_connection(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    provider: ProviderKind,
) -> QueryResult<Option<ConnectionRow>> {
    use provider_connections as c;
    c::table
        .filter(c::tenant_id.eq(tenant_id))
        .filter(c::provider.eq(provider))
        .select(ConnectionRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Queues a sync of the customer when its tenant is connected to Stripe and
/// the customer is mapped to a Stripe customer; a sync already queued is
/// kept (it sends the state current when it runs) and marked as having a
/// newer change, so a run that read the older state runs again.
pub async fn queue_customer_sync(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    customer_id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO provider_tasks (tenant_id, id, kind, object_id, run_after, created_at)
         SELECT c.tenant_id, $3, 'SYNC_CUSTOMER', m.customer_id, $4, $4
         FROM provider_connections c
         JOIN integration_mappings m
           ON m.tenant_id = c.tenant_id AND m.customer_id = $2 AND m.provider = 'STRIPE' AND m.provider_name = ''
         WHERE c.tenant_id = $1 AND c.provider = 'STRIPE'
         ON CONFLICT (tenant_id, kind, object_id, attempt) WHERE done_at IS NULL
         DO UPDATE SET generation = provider_tasks.generation + 1,
                       run_after = LEAST(provider_tasks.run_after, EXCLUDED.run_after)",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(customer_id)
    .bind::<SqlUuid, _>(Uuid::now_v7())
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await
    .map(drop)
}

/// Queues the first charge of each given invoice whose payer collects
/// automatically (the subscription's choice, else the customer's) in a
/// tenant connected to Stripe: one statement for a whole batch.
pub async fn queue_first_charges(
    conn: &mut AsyncPgConnection,
    tenants: &[Uuid],
    invoices: &[Uuid],
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    if invoices.is_empty() {
        return Ok(0);
    }
    diesel::sql_query(
        "INSERT INTO provider_tasks (tenant_id, id, kind, object_id, attempt, run_after, created_at)
         SELECT i.tenant_id, gen_random_uuid(), 'CHARGE_INVOICE', i.id, 1, $3, $3
         FROM unnest($1::uuid[], $2::uuid[]) AS f(tenant_id, id)
         JOIN invoices i ON i.tenant_id = f.tenant_id AND i.id = f.id
         JOIN customers c ON c.tenant_id = i.tenant_id AND c.id = i.customer_id
         LEFT JOIN subscriptions s ON s.tenant_id = i.tenant_id AND s.id = i.subscription_id
         JOIN provider_connections pc ON pc.tenant_id = i.tenant_id AND pc.provider = 'STRIPE'
         WHERE COALESCE(s.collection_method, c.collection_method) = 'CHARGE_AUTOMATICALLY'
         ON CONFLICT (tenant_id, kind, object_id, attempt) WHERE done_at IS NULL DO NOTHING",
    )
    .bind::<Array<SqlUuid>, _>(tenants)
    .bind::<Array<SqlUuid>, _>(invoices)
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await
}

/// Queues a task (a charge retry, a refund).
pub async fn queue_task(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    kind: TaskKind,
    object_id: Uuid,
    attempt: i32,
    run_after: DateTime<Utc>,
) -> QueryResult<()> {
    use provider_tasks as t;
    diesel::insert_into(t::table)
        .values((
            t::tenant_id.eq(tenant_id),
            t::id.eq(Uuid::now_v7()),
            t::kind.eq(kind),
            t::object_id.eq(object_id),
            t::attempt.eq(attempt),
            t::run_after.eq(run_after),
            t::created_at.eq(Utc::now()),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await
        .map(drop)
}

/// Queues the Stripe refund of `refund_id` when the invoice was paid through
/// Stripe (a card payment whose reference is a PaymentIntent) and the tenant
/// is connected.
pub async fn queue_refund_if_paid_by_card(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    invoice_id: Uuid,
    refund_id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    let queued = diesel::sql_query(
        "INSERT INTO provider_tasks (tenant_id, id, kind, object_id, run_after, created_at)
         SELECT $1, $4, 'REFUND', $3, $5, $5
         WHERE EXISTS (SELECT 1 FROM provider_connections WHERE tenant_id = $1 AND provider = 'STRIPE')
           AND EXISTS (SELECT 1 FROM payments
                       WHERE tenant_id = $1 AND invoice_id = $2 AND method = 'CARD' AND reference LIKE 'pi\\_%')
         ON CONFLICT (tenant_id, kind, object_id, attempt) WHERE done_at IS NULL DO NOTHING",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(invoice_id)
    .bind::<SqlUuid, _>(refund_id)
    .bind::<SqlUuid, _>(Uuid::now_v7())
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await?;
    Ok(queued > 0)
}

/// Leases up to `limit` due tasks across tenants until `lease_until`;
/// tasks another worker holds (locked rows or a live lease) are skipped.
pub async fn lease_due(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i32,
) -> QueryResult<Vec<TaskRow>> {
    diesel::sql_query(
        "UPDATE provider_tasks t SET locked_until = $2, tries = t.tries + 1
         FROM (SELECT tenant_id, id FROM provider_tasks
               WHERE done_at IS NULL AND run_after <= $1 AND (locked_until IS NULL OR locked_until <= $1)
               ORDER BY run_after LIMIT $3
               FOR UPDATE SKIP LOCKED) d
         WHERE t.tenant_id = d.tenant_id AND t.id = d.id
         RETURNING t.*",
    )
    .bind::<Timestamptz, _>(now)
    .bind::<Timestamptz, _>(lease_until)
    .bind::<Integer, _>(limit)
    .load(conn)
    .await
}

/// Marks the task done, unless a newer change arrived while it ran (its
/// generation moved): then it is released to run again.
pub async fn finish_task(conn: &mut AsyncPgConnection, task: &TaskRow, now: DateTime<Utc>) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE provider_tasks SET locked_until = NULL,
             done_at = CASE WHEN generation = $3 THEN $4 END,
             tries = CASE WHEN generation = $3 THEN tries ELSE 0 END
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind::<SqlUuid, _>(task.tenant_id)
    .bind::<SqlUuid, _>(task.id)
    .bind::<Integer, _>(task.generation)
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await
    .map(drop)
}

/// Releases the task to run again at `run_after`, keeping why it failed.
pub async fn postpone_task(
    conn: &mut AsyncPgConnection,
    task: &TaskRow,
    error: &str,
    run_after: DateTime<Utc>,
) -> QueryResult<()> {
    use provider_tasks as t;
    diesel::update(
        t::table
            .filter(t::tenant_id.eq(task.tenant_id))
            .filter(t::id.eq(task.id)),
    )
    .set((
        t::locked_until.eq(None::<DateTime<Utc>>),
        t::last_error.eq(error),
        t::run_after.eq(run_after),
    ))
    .execute(conn)
    .await
    .map(drop)
}

/// Creates the attempt when it does not exist yet; returns it either way.
pub async fn ensure_attempt(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    invoice_id: Uuid,
    attempt: i32,
    now: DateTime<Utc>,
) -> QueryResult<AttemptRow> {
    use payment_attempts as a;
    diesel::insert_into(a::table)
        .values(&AttemptRow {
            tenant_id,
            invoice_id,
            attempt,
            provider: ProviderKind::Stripe,
            payment_intent_id: None,
            status: AttemptStatus::Pending,
            error: None,
            next_retry_at: None,
            failed_at: None,
            created_at: now,
            updated_at: now,
        })
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    a::table
        .filter(a::tenant_id.eq(tenant_id))
        .filter(a::invoice_id.eq(invoice_id))
        .filter(a::attempt.eq(attempt))
        .select(AttemptRow::as_select())
        .first(conn)
        .await
}

pub async fn set_attempt_intent(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    invoice_id: Uuid,
    attempt: i32,
    payment_intent_id: &str,
) -> QueryResult<()> {
    use payment_attempts as a;
    diesel::update(
        a::table
            .filter(a::tenant_id.eq(tenant_id))
            .filter(a::invoice_id.eq(invoice_id))
            .filter(a::attempt.eq(attempt))
            .filter(a::payment_intent_id.is_null()),
    )
    .set(a::payment_intent_id.eq(payment_intent_id))
    .execute(conn)
    .await
    .map(drop)
}

/// The outcome of an attempt still awaiting one; None when another report
/// already settled it (so its consequences happen once).
pub struct Settlement<'a> {
    pub status: AttemptStatus,
    pub error: Option<&'a str>,
    pub failed_at: Option<DateTime<Utc>>,
    pub next_retry_at: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
}

pub async fn settle_attempt(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    invoice_id: Uuid,
    attempt: i32,
    s: Settlement<'_>,
) -> QueryResult<Option<AttemptRow>> {
    use payment_attempts as a;
    let open = [AttemptStatus::Pending, AttemptStatus::RequiresAction];
    diesel::update(
        a::table
            .filter(a::tenant_id.eq(tenant_id))
            .filter(a::invoice_id.eq(invoice_id))
            .filter(a::attempt.eq(attempt))
            .filter(a::status.eq_any(open)),
    )
    .set((
        a::status.eq(s.status),
        a::error.eq(s.error),
        a::failed_at.eq(s.failed_at),
        a::next_retry_at.eq(s.next_retry_at),
        a::updated_at.eq(s.now),
    ))
    .returning(AttemptRow::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// When the invoice's first attempt failed: retries count from there.
pub async fn first_failure(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    invoice_id: Uuid,
) -> QueryResult<Option<DateTime<Utc>>> {
    use payment_attempts as a;
    a::table
        .filter(a::tenant_id.eq(tenant_id))
        .filter(a::invoice_id.eq(invoice_id))
        .filter(a::failed_at.is_not_null())
        .order(a::attempt)
        .select(a::failed_at)
        .first::<Option<DateTime<Utc>>>(conn)
        .await
        .optional()
        .map(Option::flatten)
}

/// The attempts of many invoices, in attempt order.
pub async fn attempts_of_invoices(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    invoice_ids: &[Uuid],
) -> QueryResult<Vec<AttemptRow>> {
    use payment_attempts as a;
    a::table
        .filter(a::tenant_id.eq(tenant_id))
        .filter(a::invoice_id.eq_any(invoice_ids))
        .order((a::invoice_id, a::attempt))
        .select(AttemptRow::as_select())
        .load(conn)
        .await
}

/// Records a provider event as handled; false when it already was.
pub async fn claim_event(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    provider: ProviderKind,
    event_id: &str,
    event_type: &str,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    use provider_events as e;
    let inserted = diesel::insert_into(e::table)
        .values((
            e::tenant_id.eq(tenant_id),
            e::provider.eq(provider.as_str()),
            e::event_id.eq(event_id),
            e::event_type.eq(event_type),
            e::received_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(inserted > 0)
}

pub async fn set_collection_method(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    customer_id: Uuid,
    method: CollectionMethod,
) -> QueryResult<()> {
    diesel::update(
        customers::table
            .filter(customers::tenant_id.eq(tenant_id))
            .filter(customers::id.eq(customer_id)),
    )
    .set(customers::collection_method.eq(method))
    .execute(conn)
    .await
    .map(drop)
}

/// The collection method of many customers.
pub async fn collection_methods(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    customer_ids: &[Uuid],
) -> QueryResult<Vec<(Uuid, CollectionMethod)>> {
    customers::table
        .filter(customers::tenant_id.eq(tenant_id))
        .filter(customers::id.eq_any(customer_ids))
        .select((customers::id, customers::collection_method))
        .load(conn)
        .await
}

pub async fn set_subscription_collection_method(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    subscription_id: Uuid,
    method: Option<CollectionMethod>,
) -> QueryResult<()> {
    use crate::db::schema::subscriptions as s;
    diesel::update(
        s::table
            .filter(s::tenant_id.eq(tenant_id))
            .filter(s::id.eq(subscription_id)),
    )
    .set(s::collection_method.eq(method))
    .execute(conn)
    .await
    .map(drop)
}

/// The own collection method of many subscriptions (None: the customer's).
pub async fn subscription_collection_methods(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    subscription_ids: &[Uuid],
) -> QueryResult<Vec<(Uuid, Option<CollectionMethod>)>> {
    use crate::db::schema::subscriptions as s;
    s::table
        .filter(s::tenant_id.eq(tenant_id))
        .filter(s::id.eq_any(subscription_ids))
        .select((s::id, s::collection_method))
        .load(conn)
        .await
}

/// What the provider did with a refund.
pub async fn record_refund_outcome(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    refund_id: Uuid,
    provider_refund_id: &str,
    status: &str,
) -> QueryResult<()> {
    diesel::update(
        refunds::table
            .filter(refunds::tenant_id.eq(tenant_id))
            .filter(refunds::id.eq(refund_id)),
    )
    .set((
        refunds::provider_refund_id.eq(provider_refund_id),
        refunds::provider_status.eq(status),
    ))
    .execute(conn)
    .await
    .map(drop)
}

/// A refund with what the task needs to send it.
#[derive(Debug, Clone, QueryableByName)]
pub struct RefundToSend {
    #[diesel(sql_type = SqlUuid)]
    pub invoice_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Numeric)]
    pub amount: rust_decimal::Decimal,
    #[diesel(sql_type = Text)]
    pub currency: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    pub payment_intent_id: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    pub provider_refund_id: Option<String>,
}

/// The refund, its invoice's currency, and the PaymentIntent that paid the
/// invoice (the latest card payment through Stripe).
pub async fn refund_to_send(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    refund_id: Uuid,
) -> QueryResult<Option<RefundToSend>> {
    diesel::sql_query(
        "SELECT n.invoice_id, r.amount, n.currency, r.provider_refund_id,
                (SELECT p.reference FROM payments p
                 WHERE p.tenant_id = n.tenant_id AND p.invoice_id = n.invoice_id
                   AND p.method = 'CARD' AND p.reference LIKE 'pi\\_%'
                 ORDER BY p.id DESC LIMIT 1) AS payment_intent_id
         FROM refunds r JOIN credit_notes n ON n.tenant_id = r.tenant_id AND n.id = r.credit_note_id
         WHERE r.tenant_id = $1 AND r.id = $2",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(refund_id)
    .get_result(conn)
    .await
    .optional()
}
