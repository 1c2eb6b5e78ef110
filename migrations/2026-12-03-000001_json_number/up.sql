-- A meter's numeric value, from the JSON value its property holds (NULL
-- when the property is missing or not a number): the rule of
-- billgraph_property_number, which now reads through it. Raw-event usage
-- extracts each property once and applies this to it, rather than looking
-- the property up again for every part of the rule.
CREATE FUNCTION billgraph_json_number(value jsonb) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE jsonb_typeof(value)
        WHEN 'number' THEN CASE WHEN abs(value::numeric) < 1e15
                                 AND scale(value::numeric) <= 12
                                THEN value::numeric END
        WHEN 'string' THEN billgraph_number(value #>> '{}')
    END
$$;

CREATE OR REPLACE FUNCTION billgraph_property_number(properties jsonb, property text) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT billgraph_json_number(properties -> property)
$$;
