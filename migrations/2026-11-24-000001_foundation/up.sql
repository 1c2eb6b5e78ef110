-- Tenants own every other row. Every key that can carry tenant_id does, so
-- tenants are isolated by construction and tables can be sharded by tenant.
CREATE TABLE tenants (
    id         uuid        PRIMARY KEY,
    name       text        NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- API keys are stored only as SHA-256 hashes; the prefix lets an operator
-- recognise a key without being able to use it.
CREATE TABLE api_keys (
    tenant_id  uuid        NOT NULL REFERENCES tenants (id),
    id         uuid        NOT NULL,
    key_hash   bytea       NOT NULL UNIQUE,
    key_prefix text        NOT NULL,
    label      text,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE customers (
    tenant_id            uuid        NOT NULL REFERENCES tenants (id),
    id                   uuid        NOT NULL,
    external_customer_id text        NOT NULL,
    name                 text        NOT NULL,
    email                text,
    address_line1        text,
    address_line2        text,
    address_city         text,
    address_state        text,
    address_postal_code  text,
    address_country      text,
    metadata             jsonb       NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(metadata) = 'object'),
    parent_customer_id   uuid,
    status               text        NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'ARCHIVED')),
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    archived_at          timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, parent_customer_id) REFERENCES customers (tenant_id, id),
    CHECK (parent_customer_id IS DISTINCT FROM id),
    CHECK ((status = 'ARCHIVED') = (archived_at IS NOT NULL))
);

-- An external id is unique among a tenant's live customers; archiving frees it.
CREATE UNIQUE INDEX customers_live_external_id
    ON customers (tenant_id, external_customer_id) WHERE status = 'ACTIVE';
CREATE INDEX customers_external_id ON customers (tenant_id, external_customer_id);
CREATE INDEX customers_children ON customers (tenant_id, parent_customer_id, id)
    WHERE parent_customer_id IS NOT NULL;
CREATE INDEX customers_metadata ON customers USING gin (metadata jsonb_path_ops);

CREATE TABLE integration_mappings (
    tenant_id          uuid        NOT NULL,
    id                 uuid        NOT NULL,
    customer_id        uuid        NOT NULL,
    provider           text        NOT NULL
        CHECK (provider IN ('STRIPE', 'HUBSPOT', 'QUICKBOOKS', 'SALESFORCE', 'CUSTOM')),
    -- Empty for the named providers; the custom system's name for CUSTOM.
    provider_name      text        NOT NULL DEFAULT ''
        CHECK ((provider = 'CUSTOM') = (provider_name <> '')),
    provider_entity_id text        NOT NULL,
    metadata           jsonb       NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(metadata) = 'object'),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
    CONSTRAINT integration_mappings_one_per_provider
        UNIQUE (tenant_id, customer_id, provider, provider_name),
    CONSTRAINT integration_mappings_entity_owner
        UNIQUE (tenant_id, provider, provider_name, provider_entity_id)
);
