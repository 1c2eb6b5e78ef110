-- A copy of tenant {SOURCE} as tenant {TARGET} with {SCALE} times its
-- subscriptions, invoices (with lines), wallet transactions and events: the
-- same customers, meters, plans and wallets (same ids; every key includes
-- the tenant), plus {SCALE} - 1 copies of each scaled row under derived ids.
CREATE TEMPORARY TABLE copies AS SELECT generate_series(0, {SCALE} - 1) AS k;

CREATE FUNCTION pg_temp.copy_id(id uuid, k int) RETURNS uuid LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN k = 0 THEN id ELSE md5(id::text || '/' || k)::uuid END
$$;

INSERT INTO customers SELECT r.* FROM customers c,
    jsonb_populate_record(NULL::customers, to_jsonb(c) || jsonb_build_object('tenant_id', '{TARGET}'::uuid)) r
WHERE c.tenant_id = '{SOURCE}';

INSERT INTO meters SELECT r.* FROM meters m,
    jsonb_populate_record(NULL::meters, to_jsonb(m) || jsonb_build_object('tenant_id', '{TARGET}'::uuid)) r
WHERE m.tenant_id = '{SOURCE}';

INSERT INTO plans SELECT r.* FROM plans p,
    jsonb_populate_record(NULL::plans, to_jsonb(p) || jsonb_build_object('tenant_id', '{TARGET}'::uuid)) r
WHERE p.tenant_id = '{SOURCE}';

INSERT INTO prices SELECT r.* FROM prices p,
    jsonb_populate_record(NULL::prices, to_jsonb(p) || jsonb_build_object('tenant_id', '{TARGET}'::uuid)) r
WHERE p.tenant_id = '{SOURCE}';

INSERT INTO subscriptions SELECT r.* FROM subscriptions s CROSS JOIN copies,
    jsonb_populate_record(NULL::subscriptions, to_jsonb(s) || jsonb_build_object(
        'tenant_id', '{TARGET}'::uuid, 'id', pg_temp.copy_id(s.id, k))) r
WHERE s.tenant_id = '{SOURCE}';

-- Named columns: invoice_date and payment_status are generated from these.
INSERT INTO invoices (tenant_id, id, customer_id, subscription_id, status, number, currency, period_start, period_end,
                      subtotal, credits_applied, total, amount_paid, finalize_after, issued_at, due_at, finalized_at,
                      voided_at, created_at, updated_at, credit_balance_applied, credit_note_total,
                      amount_credited)
SELECT r.tenant_id, r.id, r.customer_id, r.subscription_id, r.status, r.number, r.currency, r.period_start,
       r.period_end, r.subtotal, r.credits_applied, r.total, r.amount_paid, r.finalize_after, r.issued_at, r.due_at,
       r.finalized_at, r.voided_at, r.created_at, r.updated_at, r.credit_balance_applied, r.credit_note_total,
       r.amount_credited
FROM invoices i CROSS JOIN copies,
    jsonb_populate_record(NULL::invoices, to_jsonb(i) || jsonb_build_object(
        'tenant_id', '{TARGET}'::uuid, 'id', pg_temp.copy_id(i.id, k),
        'subscription_id', pg_temp.copy_id(i.subscription_id, k),
        'number', CASE WHEN k = 0 THEN i.number ELSE i.number || '/' || k END)) r
WHERE i.tenant_id = '{SOURCE}';

INSERT INTO invoice_line_items SELECT r.* FROM invoice_line_items l CROSS JOIN copies,
    jsonb_populate_record(NULL::invoice_line_items, to_jsonb(l) || jsonb_build_object(
        'tenant_id', '{TARGET}'::uuid, 'invoice_id', pg_temp.copy_id(l.invoice_id, k),
        'id', pg_temp.copy_id(l.id, k))) r
WHERE l.tenant_id = '{SOURCE}';

INSERT INTO wallets SELECT r.* FROM wallets w,
    jsonb_populate_record(NULL::wallets, to_jsonb(w) || jsonb_build_object('tenant_id', '{TARGET}'::uuid)) r
WHERE w.tenant_id = '{SOURCE}';

INSERT INTO wallet_lots SELECT r.* FROM wallet_lots l,
    jsonb_populate_record(NULL::wallet_lots, to_jsonb(l) || jsonb_build_object('tenant_id', '{TARGET}'::uuid)) r
WHERE l.tenant_id = '{SOURCE}';

INSERT INTO wallet_transactions SELECT r.* FROM wallet_transactions t CROSS JOIN copies,
    jsonb_populate_record(NULL::wallet_transactions, to_jsonb(t) || jsonb_build_object(
        'tenant_id', '{TARGET}'::uuid, 'id', pg_temp.copy_id(t.id, k),
        'idempotency_key', t.idempotency_key || '/' || k)) r
WHERE t.tenant_id = '{SOURCE}';

INSERT INTO events (tenant_id, event_id, event_name, external_customer_id, "timestamp", properties, source, ingested_at)
SELECT '{TARGET}', e.event_id || '/' || k, e.event_name, e.external_customer_id, e."timestamp", e.properties, e.source,
       e.ingested_at
FROM events e CROSS JOIN copies
WHERE e.tenant_id = '{SOURCE}';

-- The days the events fall on, as ingestion records them; the rollup
-- worker then rolls them up.
INSERT INTO usage_days (tenant_id, day, rolling_to, rolled_to)
SELECT DISTINCT '{TARGET}'::uuid, d, d, d
FROM (SELECT date_trunc('day', "timestamp", 'UTC') AS d FROM events WHERE tenant_id = '{TARGET}') days;
