CREATE OR REPLACE FUNCTION billgraph_property_number(properties jsonb, property text) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE jsonb_typeof(properties -> property)
        WHEN 'number' THEN CASE WHEN abs((properties -> property)::numeric) < 1e15
                                 AND scale((properties -> property)::numeric) <= 12
                                THEN (properties -> property)::numeric END
        WHEN 'string' THEN billgraph_number(properties ->> property)
    END
$$;

DROP FUNCTION billgraph_json_number(jsonb);
