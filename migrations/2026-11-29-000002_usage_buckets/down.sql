DROP TABLE usage_rolling_events;
ALTER TABLE usage_days DROP COLUMN rolling_to, DROP COLUMN rolled_to;
UPDATE usage_days SET rolled_up = false;
DROP TABLE usage_value_counters;
DROP TABLE usage_value_ids;
DROP TABLE usage_buckets;
DROP FUNCTION billgraph_ids_union(integer[], integer[]);
DROP FUNCTION billgraph_bits_or(bit varying, bit varying);
DROP FUNCTION billgraph_day_buckets(integer, integer);
DROP FUNCTION billgraph_property_number(jsonb, text);

CREATE TABLE usage_daily (
    tenant_id            uuid        NOT NULL,
    meter_id             uuid        NOT NULL,
    external_customer_id text        NOT NULL,
    day                  timestamptz NOT NULL,
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
CREATE TABLE usage_daily_values (
    tenant_id            uuid        NOT NULL,
    meter_id             uuid        NOT NULL,
    external_customer_id text        NOT NULL,
    day                  timestamptz NOT NULL,
    value                text        NOT NULL,
    PRIMARY KEY (tenant_id, meter_id, external_customer_id, day, value),
    FOREIGN KEY (tenant_id, meter_id) REFERENCES meters (tenant_id, id)
);
