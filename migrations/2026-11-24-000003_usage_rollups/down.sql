DROP TABLE usage_daily_values;
DROP TABLE usage_days;
DROP TABLE usage_daily;
DROP FUNCTION billgraph_filters_match(jsonb, jsonb);
DROP FUNCTION billgraph_number(text);
