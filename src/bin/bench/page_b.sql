-- Page B (usage) as one statement over the raw events, returning the API's
-- JSON: 50 roots and their first 20 children, each with the usage of its
-- whole subtree for the bench's four meters (COUNT, SUM of tokens, MAX of
-- latency_ms, UNIQUE_COUNT of user), in meter creation order. It is both
-- the yardstick and the oracle: the API's answer must equal it.
-- $1 tenant, $2 from, $3 to.
WITH RECURSIVE roots AS (
    SELECT id, name FROM customers
    WHERE tenant_id = $1 AND parent_customer_id IS NULL
    ORDER BY id LIMIT 50
), children AS (
    SELECT p.id AS parent, ch.id, ch.name FROM roots p
    CROSS JOIN LATERAL (SELECT id, name FROM customers ch
                        WHERE ch.tenant_id = $1 AND ch.parent_customer_id = p.id ORDER BY id LIMIT 20) ch
), keys AS (
    SELECT id AS key FROM roots UNION ALL SELECT id FROM children
), tree(key, id) AS (
    SELECT key, key FROM keys
    UNION ALL
    SELECT t.key, c.id FROM tree t JOIN customers c ON c.tenant_id = $1 AND c.parent_customer_id = t.id
), totals AS (
    SELECT t.key, count(e.*) AS events,
           COALESCE(sum((e.properties ->> 'tokens')::numeric), 0) AS tokens,
           max((e.properties ->> 'latency_ms')::numeric) AS peak,
           count(DISTINCT e.properties ->> 'user') AS users
    FROM tree t
    JOIN customers c ON c.tenant_id = $1 AND c.id = t.id
    LEFT JOIN events e ON e.tenant_id = $1 AND e.external_customer_id = c.external_customer_id
        AND e.event_name = 'api_call' AND e."timestamp" >= $2 AND e."timestamp" < $3
    GROUP BY t.key
), usage AS (
    SELECT key, json_build_array(
        json_build_object('value', events::text, 'eventCount', events),
        json_build_object('value', tokens::text, 'eventCount', events),
        json_build_object('value', peak::text, 'eventCount', events),
        json_build_object('value', users::text, 'eventCount', events)) AS usage
    FROM totals
)
SELECT json_build_object('customers', json_build_object('edges', COALESCE(json_agg(json_build_object('node', json_build_object(
    'id', r.id,
    'name', r.name,
    'usage', (SELECT usage FROM usage WHERE key = r.id),
    'children', json_build_object('edges', (
        SELECT COALESCE(json_agg(json_build_object('node', json_build_object(
                   'id', ch.id, 'name', ch.name, 'usage', (SELECT usage FROM usage WHERE key = ch.id))) ORDER BY ch.id), '[]')
        FROM children ch WHERE ch.parent = r.id))
)) ORDER BY r.id), '[]')))::text AS json
FROM roots r
