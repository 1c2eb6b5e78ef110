-- Usage rollups in dyadic day buckets: a bucket of level L covers the 2^L
-- UTC days from start_day (days since 1970-01-01, a multiple of 2^L), for
-- L = 0..9. Any range of whole days is covered by at most two buckets per
-- level below the top one, so a month of usage reads a handful of rows.
-- Distinct values of UNIQUE_COUNT meters are ids of a per-meter dictionary,
-- kept per bucket as a bitmap (ids below 4096) and a sorted array (the rest).

DROP TABLE usage_daily_values;
DROP TABLE usage_daily;

-- A property value as a number, by the rule of billgraph_number: JSON
-- numbers are read directly (PostgreSQL prints them in plain notation, so
-- the digit limits are the magnitude and the scale), strings by the pattern.
CREATE FUNCTION billgraph_property_number(properties jsonb, property text) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE jsonb_typeof(properties -> property)
        WHEN 'number' THEN CASE WHEN abs((properties -> property)::numeric) < 1e15
                                 AND scale((properties -> property)::numeric) <= 12
                                THEN (properties -> property)::numeric END
        WHEN 'string' THEN billgraph_number(properties ->> property)
    END
$$;

-- The buckets that exactly cover the days [from_day, to_day): below the top
-- level, a block is taken when it lies inside the range and its parent does
-- not (at most the first and the last block of each level qualify).
CREATE FUNCTION billgraph_day_buckets(from_day integer, to_day integer)
RETURNS TABLE (level integer, start_day integer)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT l, k << l
    FROM generate_series(0, 8) l
    CROSS JOIN LATERAL (
        SELECT DISTINCT k FROM unnest(ARRAY[(from_day + (1 << l) - 1) >> l, (to_day >> l) - 1]) k
    ) c
    WHERE k >= (from_day + (1 << l) - 1) >> l AND k < to_day >> l
      AND NOT (k >> 1 >= (from_day + (2 << l) - 1) >> (l + 1) AND k >> 1 < to_day >> (l + 1))
    UNION ALL
    SELECT 9, k << 9 FROM generate_series((from_day + 511) >> 9, (to_day >> 9) - 1) k
$$;

-- Union of two bitmaps of value ids (bit i: id i), as long as the longer.
CREATE FUNCTION billgraph_bits_or(a bit varying, b bit varying) RETURNS bit varying
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN a IS NULL THEN b WHEN b IS NULL THEN a
                ELSE substring((a::bit(4096) | b::bit(4096)) FROM 1 FOR greatest(length(a), length(b))) END
$$;

-- Union of two sorted arrays of value ids, sorted.
CREATE FUNCTION billgraph_ids_union(a integer[], b integer[]) RETURNS integer[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN a IS NULL THEN b WHEN b IS NULL THEN a
                ELSE ARRAY(SELECT DISTINCT x FROM unnest(a || b) x ORDER BY x) END
$$;

CREATE TABLE usage_buckets (
    tenant_id            uuid        NOT NULL,
    external_customer_id text        NOT NULL,
    level                smallint    NOT NULL CHECK (level BETWEEN 0 AND 9),
    start_day            integer     NOT NULL,
    meter_id             uuid        NOT NULL,
    -- Events that counted, and matching events left out (no usable value).
    event_count          bigint      NOT NULL,
    skipped              bigint      NOT NULL,
    total                numeric,
    maximum              numeric,
    latest_at            timestamptz,
    latest_event_id      text,
    latest_value         numeric,
    -- UNIQUE_COUNT: the value ids seen, below 4096 as bits, the rest sorted.
    value_bits           bit varying,
    value_ids            integer[],
    PRIMARY KEY (tenant_id, external_customer_id, level, start_day, meter_id),
    FOREIGN KEY (tenant_id, meter_id) REFERENCES meters (tenant_id, id)
);

-- The dictionary of UNIQUE_COUNT values: ids are dense per meter, so values
-- that recur (users, regions) fit in small bitmaps.
CREATE TABLE usage_value_ids (
    tenant_id uuid    NOT NULL,
    meter_id  uuid    NOT NULL,
    value     text    NOT NULL,
    id        integer NOT NULL,
    PRIMARY KEY (tenant_id, meter_id, value),
    FOREIGN KEY (tenant_id, meter_id) REFERENCES meters (tenant_id, id)
);
CREATE TABLE usage_value_counters (
    tenant_id uuid    NOT NULL,
    meter_id  uuid    NOT NULL,
    next_id   integer NOT NULL,
    PRIMARY KEY (tenant_id, meter_id),
    FOREIGN KEY (tenant_id, meter_id) REFERENCES meters (tenant_id, id)
);

-- A day is rolled up in slices: the current day hour by hour once each hour
-- has ended, past days at once. A slice runs in two steps. First, briefly
-- holding the ingestion lock exclusively, the worker moves rolling_to to
-- the slice's end: from then on ingestion adds the day's new events before
-- rolling_to to the buckets itself, and lists those at or after rolled_to
-- in usage_rolling_events. Then, without stopping ingestion, the worker
-- adds the slice's other events and moves rolled_to to rolling_to. The
-- buckets hold a day's events before rolled_to; rolled_up: all of them.
ALTER TABLE usage_days ADD COLUMN rolling_to timestamptz, ADD COLUMN rolled_to timestamptz;
UPDATE usage_days SET rolled_up = false, rolling_to = day, rolled_to = day;
ALTER TABLE usage_days ALTER COLUMN rolling_to SET NOT NULL, ALTER COLUMN rolled_to SET NOT NULL;
CREATE TABLE usage_rolling_events (
    tenant_id uuid        NOT NULL,
    day       timestamptz NOT NULL,
    event_id  text        NOT NULL,
    PRIMARY KEY (tenant_id, day, event_id)
);
