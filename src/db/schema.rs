// @generated automatically by Diesel CLI.

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
    }
}

diesel::table! {
    tenants (id) {
        id -> Uuid,
        name -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    usage_daily (tenant_id, meter_id, external_customer_id, day) {
        tenant_id -> Uuid,
        meter_id -> Uuid,
        external_customer_id -> Text,
        day -> Timestamptz,
        event_count -> Int8,
        skipped -> Int8,
        total -> Nullable<Numeric>,
        maximum -> Nullable<Numeric>,
        latest_at -> Nullable<Timestamptz>,
        latest_event_id -> Nullable<Text>,
        latest_value -> Nullable<Numeric>,
    }
}

diesel::table! {
    usage_daily_values (tenant_id, meter_id, external_customer_id, day, value) {
        tenant_id -> Uuid,
        meter_id -> Uuid,
        external_customer_id -> Text,
        day -> Timestamptz,
        value -> Text,
    }
}

diesel::table! {
    usage_days (tenant_id, day) {
        tenant_id -> Uuid,
        day -> Timestamptz,
        rolled_up -> Bool,
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
    }
}

diesel::joinable!(api_keys -> tenants (tenant_id));
diesel::joinable!(customers -> tenants (tenant_id));
diesel::joinable!(events -> tenants (tenant_id));
diesel::joinable!(invoice_counters -> tenants (tenant_id));
diesel::joinable!(meters -> tenants (tenant_id));
diesel::joinable!(plans -> tenants (tenant_id));
diesel::joinable!(usage_days -> tenants (tenant_id));

diesel::allow_tables_to_appear_in_same_query!(
    api_keys,
    customers,
    events,
    integration_mappings,
    invoice_counters,
    invoice_line_items,
    invoices,
    meters,
    payments,
    plans,
    prices,
    subscription_pauses,
    subscriptions,
    tenants,
    usage_daily,
    usage_daily_values,
    usage_days,
    wallet_lots,
    wallet_transactions,
    wallets,
);
