// @generated automatically by Diesel CLI.

pub mod sql_types {
    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "varbit"))]
    pub struct Varbit;
}

diesel::table! {
    api_keys (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        key_hash -> Bytea,
        key_prefix -> Text,
        label -> Nullable<Text>,
        created_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    credit_note_counters (tenant_id) {
        tenant_id -> Uuid,
        last_number -> Int8,
    }
}

diesel::table! {
    credit_note_lines (tenant_id, credit_note_id, line_item_id) {
        tenant_id -> Uuid,
        credit_note_id -> Uuid,
        line_item_id -> Uuid,
        amount -> Numeric,
    }
}

diesel::table! {
    credit_notes (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        number -> Text,
        invoice_id -> Uuid,
        customer_id -> Uuid,
        currency -> Text,
        reason -> Text,
        memo -> Nullable<Text>,
        total -> Numeric,
        amount_credited -> Numeric,
        refunded_amount -> Numeric,
        refund_to -> Nullable<Text>,
        wallet_id -> Nullable<Uuid>,
        idempotency_key -> Nullable<Text>,
        created_at -> Timestamptz,
        tax_amount -> Numeric,
    }
}

diesel::table! {
    customer_credit_balances (tenant_id, customer_id, currency) {
        tenant_id -> Uuid,
        customer_id -> Uuid,
        currency -> Text,
        balance -> Numeric,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    customer_credit_entries (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        customer_id -> Uuid,
        currency -> Text,
        amount -> Numeric,
        balance_after -> Numeric,
        reason -> Text,
        invoice_id -> Uuid,
        credit_note_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    customers (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        external_customer_id -> Text,
        name -> Text,
        email -> Nullable<Text>,
        address_line1 -> Nullable<Text>,
        address_line2 -> Nullable<Text>,
        address_city -> Nullable<Text>,
        address_state -> Nullable<Text>,
        address_postal_code -> Nullable<Text>,
        address_country -> Nullable<Text>,
        metadata -> Jsonb,
        parent_customer_id -> Nullable<Uuid>,
        status -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        archived_at -> Nullable<Timestamptz>,
        collection_method -> Text,
        tax_exempt -> Bool,
        tax_id -> Nullable<Text>,
    }
}

diesel::table! {
    events (tenant_id, event_id) {
        tenant_id -> Uuid,
        event_id -> Text,
        event_name -> Text,
        external_customer_id -> Text,
        timestamp -> Timestamptz,
        properties -> Jsonb,
        source -> Nullable<Text>,
        ingested_at -> Timestamptz,
    }
}

diesel::table! {
    integration_mappings (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        customer_id -> Uuid,
        provider -> Text,
        provider_name -> Text,
        provider_entity_id -> Text,
        metadata -> Jsonb,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    invoice_counters (tenant_id) {
        tenant_id -> Uuid,
        last_number -> Int8,
    }
}

diesel::table! {
    invoice_line_items (tenant_id, invoice_id, position) {
        tenant_id -> Uuid,
        invoice_id -> Uuid,
        position -> Int4,
        customer_id -> Uuid,
        price_id -> Nullable<Uuid>,
        meter_id -> Nullable<Uuid>,
        description -> Text,
        quantity -> Numeric,
        unit_amount -> Nullable<Numeric>,
        amount -> Numeric,
        period_start -> Nullable<Timestamptz>,
        period_end -> Nullable<Timestamptz>,
        proration_fraction -> Nullable<Numeric>,
        id -> Uuid,
        discount_amount -> Numeric,
        tax_amount -> Numeric,
        tax_added -> Numeric,
    }
}

diesel::table! {
    invoices (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        customer_id -> Uuid,
        subscription_id -> Nullable<Uuid>,
        status -> Text,
        number -> Nullable<Text>,
        currency -> Text,
        period_start -> Nullable<Timestamptz>,
        period_end -> Nullable<Timestamptz>,
        subtotal -> Numeric,
        credits_applied -> Numeric,
        total -> Numeric,
        amount_paid -> Numeric,
        finalize_after -> Timestamptz,
        issued_at -> Nullable<Timestamptz>,
        due_at -> Nullable<Timestamptz>,
        finalized_at -> Nullable<Timestamptz>,
        voided_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        credit_balance_applied -> Numeric,
        credit_note_total -> Numeric,
        amount_credited -> Numeric,
        invoice_date -> Timestamptz,
        payment_status -> Text,
        overdue_announced_at -> Nullable<Timestamptz>,
        discount_total -> Numeric,
        tax_total -> Numeric,
        tax_added -> Numeric,
        billed_to -> Nullable<Jsonb>,
        issued_by -> Nullable<Jsonb>,
    }
}

diesel::table! {
    meters (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        name -> Text,
        event_name -> Text,
        aggregation -> Text,
        property -> Nullable<Text>,
        filters -> Jsonb,
        status -> Text,
        created_at -> Timestamptz,
        archived_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    outbox_events (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        event_type -> Text,
        object_type -> Text,
        object_id -> Uuid,
        occurred_at -> Timestamptz,
        data -> Jsonb,
    }
}

diesel::table! {
    payments (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        invoice_id -> Uuid,
        amount -> Numeric,
        method -> Text,
        reference -> Nullable<Text>,
        idempotency_key -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    plans (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        name -> Text,
        lookup_key -> Nullable<Text>,
        description -> Nullable<Text>,
        status -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    prices (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        plan_id -> Uuid,
        currency -> Text,
        billing_period -> Text,
        billing_period_count -> Int4,
        price_type -> Text,
        amount -> Nullable<Numeric>,
        invoice_cadence -> Nullable<Text>,
        quantity -> Nullable<Numeric>,
        meter_id -> Nullable<Uuid>,
        billing_model -> Nullable<Text>,
        model -> Nullable<Jsonb>,
        status -> Text,
        created_at -> Timestamptz,
        archived_at -> Nullable<Timestamptz>,
        proration -> Nullable<Text>,
    }
}

diesel::table! {
    refunds (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        credit_note_id -> Uuid,
        amount -> Numeric,
        method -> Text,
        reference -> Nullable<Text>,
        created_at -> Timestamptz,
        provider_refund_id -> Nullable<Text>,
        provider_status -> Nullable<Text>,
    }
}

diesel::table! {
    subscription_pauses (tenant_id, subscription_id, started_at) {
        tenant_id -> Uuid,
        subscription_id -> Uuid,
        started_at -> Timestamptz,
        ended_at -> Timestamptz,
    }
}

diesel::table! {
    subscriptions (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        customer_id -> Uuid,
        plan_id -> Uuid,
        payer -> Text,
        currency -> Text,
        billing_period -> Text,
        billing_period_count -> Int4,
        start_at -> Timestamptz,
        billing_anchor -> Timestamptz,
        trial_end -> Nullable<Timestamptz>,
        paused_at -> Nullable<Timestamptz>,
        ends_at -> Nullable<Timestamptz>,
        cancelled_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        next_billing_at -> Nullable<Timestamptz>,
        phased -> Bool,
        cut_at -> Nullable<Timestamptz>,
        cut_anchor -> Nullable<Timestamptz>,
        cut_billing_period -> Nullable<Text>,
        cut_billing_period_count -> Nullable<Int4>,
        collection_method -> Nullable<Text>,
    }
}

diesel::table! {
    tenants (id) {
        id -> Uuid,
        name -> Text,
        created_at -> Timestamptz,
        display_name -> Nullable<Text>,
        address_line1 -> Nullable<Text>,
        address_line2 -> Nullable<Text>,
        address_city -> Nullable<Text>,
        address_state -> Nullable<Text>,
        address_postal_code -> Nullable<Text>,
        address_country -> Nullable<Text>,
        email -> Nullable<Text>,
        logo_url -> Nullable<Text>,
        invoice_footer -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Varbit;

    usage_buckets (tenant_id, external_customer_id, level, start_day, meter_id) {
        tenant_id -> Uuid,
        external_customer_id -> Text,
        level -> Int2,
        start_day -> Int4,
        meter_id -> Uuid,
        event_count -> Int8,
        skipped -> Int8,
        total -> Nullable<Numeric>,
        maximum -> Nullable<Numeric>,
        latest_at -> Nullable<Timestamptz>,
        latest_event_id -> Nullable<Text>,
        latest_value -> Nullable<Numeric>,
        value_bits -> Nullable<Varbit>,
        value_ids -> Nullable<Array<Nullable<Int4>>>,
    }
}

diesel::table! {
    usage_days (tenant_id, day) {
        tenant_id -> Uuid,
        day -> Timestamptz,
        rolled_up -> Bool,
        rolling_to -> Timestamptz,
        rolled_to -> Timestamptz,
        hourly -> Bool,
    }
}

diesel::table! {
    usage_rolling_events (tenant_id, day, event_id) {
        tenant_id -> Uuid,
        day -> Timestamptz,
        event_id -> Text,
    }
}

diesel::table! {
    usage_value_counters (tenant_id, meter_id) {
        tenant_id -> Uuid,
        meter_id -> Uuid,
        next_id -> Int4,
    }
}

diesel::table! {
    usage_value_ids (tenant_id, meter_id, value) {
        tenant_id -> Uuid,
        meter_id -> Uuid,
        value -> Text,
        id -> Int4,
    }
}

diesel::table! {
    wallet_lots (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        wallet_id -> Uuid,
        kind -> Text,
        credits -> Numeric,
        remaining -> Numeric,
        expires_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    wallet_transactions (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        wallet_id -> Uuid,
        kind -> Text,
        credits -> Numeric,
        amount -> Numeric,
        balance_after -> Numeric,
        reason -> Text,
        reference -> Nullable<Text>,
        lots -> Jsonb,
        idempotency_key -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    wallets (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        customer_id -> Uuid,
        currency -> Text,
        name -> Text,
        conversion_rate -> Numeric,
        status -> Text,
        credit_balance -> Numeric,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        closed_at -> Nullable<Timestamptz>,
        low_balance_threshold -> Nullable<Numeric>,
    }
}

diesel::table! {
    webhook_endpoints (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        url -> Text,
        description -> Nullable<Text>,
        event_types -> Array<Text>,
        status -> Text,
        disabled_at -> Nullable<Timestamptz>,
        disabled_reason -> Nullable<Text>,
        secret_sealed -> Bytea,
        previous_secret_sealed -> Nullable<Bytea>,
        previous_secret_expires_at -> Nullable<Timestamptz>,
        failing_since -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_deliveries (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        event_id -> Uuid,
        endpoint_id -> Uuid,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Nullable<Timestamptz>,
        leased_until -> Nullable<Timestamptz>,
        last_response_code -> Nullable<Int4>,
        last_duration_ms -> Nullable<Int4>,
        last_error -> Nullable<Text>,
        last_attempted_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_delivery_attempts (tenant_id, delivery_id, attempt) {
        tenant_id -> Uuid,
        delivery_id -> Uuid,
        attempt -> Int4,
        status -> Text,
        response_code -> Nullable<Int4>,
        duration_ms -> Int4,
        error -> Nullable<Text>,
        attempted_at -> Timestamptz,
    }
}

diesel::table! {
    provider_connections (tenant_id, provider) {
        tenant_id -> Uuid,
        provider -> Text,
        api_base -> Text,
        secret_key_sealed -> Bytea,
        webhook_secret_sealed -> Bytea,
        key_hint -> Text,
        connected_at -> Timestamptz,
    }
}

diesel::table! {
    provider_tasks (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        kind -> Text,
        object_id -> Uuid,
        attempt -> Int4,
        run_after -> Timestamptz,
        locked_until -> Nullable<Timestamptz>,
        generation -> Int4,
        tries -> Int4,
        last_error -> Nullable<Text>,
        done_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    payment_attempts (tenant_id, invoice_id, attempt) {
        tenant_id -> Uuid,
        invoice_id -> Uuid,
        attempt -> Int4,
        provider -> Text,
        payment_intent_id -> Nullable<Text>,
        status -> Text,
        error -> Nullable<Text>,
        next_retry_at -> Nullable<Timestamptz>,
        failed_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    provider_events (tenant_id, provider, event_id) {
        tenant_id -> Uuid,
        provider -> Text,
        event_id -> Text,
        event_type -> Text,
        received_at -> Timestamptz,
    }
}

diesel::table! {
    coupons (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        code -> Text,
        name -> Text,
        percent_off -> Nullable<Numeric>,
        amount_off -> Nullable<Numeric>,
        currency -> Nullable<Text>,
        duration -> Text,
        duration_periods -> Nullable<Int4>,
        max_redemptions -> Nullable<Int4>,
        times_redeemed -> Int4,
        redeem_by -> Nullable<Timestamptz>,
        applies_to_price_ids -> Nullable<Array<Uuid>>,
        archived_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    discounts (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        coupon_id -> Uuid,
        customer_id -> Nullable<Uuid>,
        subscription_id -> Nullable<Uuid>,
        periods_applied -> Int4,
        removed_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    tax_rates (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        name -> Text,
        percentage -> Numeric,
        inclusive -> Bool,
        country -> Nullable<Text>,
        state -> Nullable<Text>,
        description -> Nullable<Text>,
        archived_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    customer_tax_rates (tenant_id, customer_id, tax_rate_id) {
        tenant_id -> Uuid,
        customer_id -> Uuid,
        tax_rate_id -> Uuid,
        position -> Int4,
    }
}

diesel::table! {
    invoice_discounts (tenant_id, invoice_id, discount_id) {
        tenant_id -> Uuid,
        invoice_id -> Uuid,
        discount_id -> Uuid,
        coupon_id -> Uuid,
        position -> Int4,
        description -> Text,
        amount -> Numeric,
    }
}

diesel::table! {
    invoice_line_discounts (tenant_id, invoice_id, line_item_id, discount_id) {
        tenant_id -> Uuid,
        invoice_id -> Uuid,
        line_item_id -> Uuid,
        discount_id -> Uuid,
        amount -> Numeric,
    }
}

diesel::table! {
    invoice_taxes (tenant_id, invoice_id, tax_rate_id) {
        tenant_id -> Uuid,
        invoice_id -> Uuid,
        tax_rate_id -> Uuid,
        position -> Int4,
        name -> Text,
        percentage -> Numeric,
        inclusive -> Bool,
        taxable_amount -> Numeric,
        amount -> Numeric,
    }
}

diesel::table! {
    invoice_line_taxes (tenant_id, invoice_id, line_item_id, tax_rate_id) {
        tenant_id -> Uuid,
        invoice_id -> Uuid,
        line_item_id -> Uuid,
        tax_rate_id -> Uuid,
        amount -> Numeric,
    }
}

diesel::table! {
    credit_note_taxes (tenant_id, credit_note_id, tax_rate_id) {
        tenant_id -> Uuid,
        credit_note_id -> Uuid,
        tax_rate_id -> Uuid,
        name -> Text,
        percentage -> Numeric,
        inclusive -> Bool,
        amount -> Numeric,
    }
}

diesel::joinable!(api_keys -> tenants (tenant_id));
diesel::joinable!(credit_note_counters -> tenants (tenant_id));
diesel::joinable!(customers -> tenants (tenant_id));
diesel::joinable!(events -> tenants (tenant_id));
diesel::joinable!(invoice_counters -> tenants (tenant_id));
diesel::joinable!(meters -> tenants (tenant_id));
diesel::joinable!(outbox_events -> tenants (tenant_id));
diesel::joinable!(plans -> tenants (tenant_id));
diesel::joinable!(usage_days -> tenants (tenant_id));

diesel::allow_tables_to_appear_in_same_query!(
    api_keys,
    coupons,
    credit_note_counters,
    credit_note_lines,
    credit_note_taxes,
    credit_notes,
    customer_credit_balances,
    customer_credit_entries,
    customer_tax_rates,
    customers,
    discounts,
    events,
    integration_mappings,
    invoice_counters,
    invoice_discounts,
    invoice_line_discounts,
    invoice_line_items,
    invoice_line_taxes,
    invoice_taxes,
    invoices,
    meters,
    outbox_events,
    payment_attempts,
    payments,
    plans,
    prices,
    provider_connections,
    provider_events,
    provider_tasks,
    refunds,
    subscription_pauses,
    subscriptions,
    tax_rates,
    tenants,
    usage_buckets,
    usage_days,
    usage_rolling_events,
    usage_value_counters,
    usage_value_ids,
    wallet_lots,
    wallet_transactions,
    wallets,
    webhook_deliveries,
    webhook_delivery_attempts,
    webhook_endpoints,
);

diesel::table! {
    subscription_phases (tenant_id, subscription_id, starts_at) {
        tenant_id -> Uuid,
        subscription_id -> Uuid,
        starts_at -> Timestamptz,
        plan_id -> Uuid,
        quantities -> Jsonb,
        created_at -> Timestamptz,
    }
}
