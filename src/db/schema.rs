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
    tenants (id) {
        id -> Uuid,
        name -> Text,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(api_keys -> tenants (tenant_id));
diesel::joinable!(customers -> tenants (tenant_id));

diesel::allow_tables_to_appear_in_same_query!(api_keys, customers, integration_mappings, tenants,);
