-- The value rules of meters, shared by the daily rollups and by usage
-- queries (which read raw events where there are no rollups).

-- A property value counted as a number: plain decimal notation with at most
-- 15 integer and 12 fraction digits (PostgreSQL prints JSON numbers this
-- way); bigger magnitudes would overflow the aggregates. NULL otherwise.
CREATE FUNCTION billgraph_number(value text) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN value ~ '^\s*[-+]?([0-9]{1,15}(\.[0-9]{0,12})?|\.[0-9]{1,12})\s*$' THEN value::numeric END
$$;

-- Whether an event's properties pass a meter's filters: every key must
-- equal one of its values.
CREATE FUNCTION billgraph_filters_match(filters jsonb, properties jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT filters = '[]'::jsonb OR NOT EXISTS (
        SELECT 1 FROM jsonb_array_elements(filters) f
        WHERE NOT COALESCE(
            (properties ->> (f ->> 'key')) = ANY (ARRAY(SELECT jsonb_array_elements_text(f -> 'values'))),
            false)
    )
$$;

-- Per meter, external customer id and UTC day: what the day's events add up
-- to. Written by the rollup worker once a day has ended, then kept current
-- by the statement that inserts late events for that day. For UNIQUE_COUNT
-- meters only the counts are used: distinct counts do not add up, so their
-- values are kept apart (usage_daily_values).
CREATE TABLE usage_daily (
    tenant_id            uuid        NOT NULL,
    meter_id             uuid        NOT NULL,
    external_customer_id text        NOT NULL,
    day                  timestamptz NOT NULL,
    -- Events that counted, and matching events left out (no usable value).
    event_count          bigint      NOT NULL,
    skipped              bigint      NOT NULL,
    total                numeric,
    maximum              numeric,
    latest_at            timestamptz,
    latest_event_id      text,
    latest_value         numeric,
    PRIMARY KEY (tenant_id, meter_id, external_customer_id, day),
    FOREIGN KEY (tenant_id, meter_id) REFERENCES meters (tenant_id, id)
);

-- The UTC days that have events, per tenant, and whether their rollups are
-- complete. Ingestion records new days; the rollup worker rolls up a day
-- once it has ended, after which ingestion keeps that day's rollups current
-- for late events. Usage reads rollups only below the first day not rolled
-- up, and raw events from there on.
CREATE TABLE usage_days (
    tenant_id uuid        NOT NULL REFERENCES tenants (id),
    day       timestamptz NOT NULL,
    rolled_up boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (tenant_id, day)
);
CREATE INDEX usage_days_pending ON usage_days (tenant_id, day) WHERE NOT rolled_up;

-- The distinct values of UNIQUE_COUNT meters per customer and UTC day, for
-- the days rolled up: a distinct count over many customers and days is the
-- number of distinct values among these rows.
CREATE TABLE usage_daily_values (
    tenant_id            uuid        NOT NULL,
    meter_id             uuid        NOT NULL,
    external_customer_id text        NOT NULL,
    day                  timestamptz NOT NULL,
    value                text        NOT NULL,
    PRIMARY KEY (tenant_id, meter_id, external_customer_id, day, value),
    FOREIGN KEY (tenant_id, meter_id) REFERENCES meters (tenant_id, id)
);
