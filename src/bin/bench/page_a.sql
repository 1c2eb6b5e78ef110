-- Page A (relations) as one statement returning the API's JSON: 50 roots
-- with 20 children, 5 subscriptions, the 3 newest invoices with their
-- lines, and wallets. $1 tenant, $2 the request's clock. USD amounts.
WITH page AS (
    SELECT id, name FROM customers
    WHERE tenant_id = $1 AND parent_customer_id IS NULL
    ORDER BY id LIMIT 50
)
SELECT json_build_object('customers', json_build_object('edges', COALESCE(json_agg(json_build_object('node', json_build_object(
    'id', p.id,
    'name', p.name,
    'children', json_build_object('edges', (
        SELECT COALESCE(json_agg(json_build_object('node', json_build_object('id', ch.id, 'name', ch.name)) ORDER BY ch.id), '[]')
        FROM (SELECT id, name FROM customers ch
              WHERE ch.tenant_id = $1 AND ch.parent_customer_id = p.id ORDER BY id LIMIT 20) ch)),
    'subscriptions', json_build_object('edges', (
        SELECT COALESCE(json_agg(json_build_object('node', json_build_object('id', s.id, 'status',
                   CASE WHEN s.ends_at <= greatest($2, s.updated_at) THEN 'CANCELLED'
                        WHEN s.paused_at IS NOT NULL THEN 'PAUSED'
                        WHEN s.trial_end > greatest($2, s.updated_at) THEN 'TRIALING'
                        ELSE 'ACTIVE' END)) ORDER BY s.id), '[]')
        FROM (SELECT * FROM subscriptions s
              WHERE s.tenant_id = $1 AND s.customer_id = p.id ORDER BY id LIMIT 5) s)),
    'invoices', json_build_object('edges', (
        SELECT COALESCE(json_agg(json_build_object('node', json_build_object(
                   'number', i.number,
                   'total', round(i.total, 2)::text,
                   'lineItems', (
                       SELECT COALESCE(json_agg(json_build_object('description', l.description,
                                  'amount', round(l.amount, 2)::text) ORDER BY l.position), '[]')
                       FROM invoice_line_items l WHERE l.tenant_id = $1 AND l.invoice_id = i.id)
               )) ORDER BY i.id DESC), '[]')
        FROM (SELECT * FROM invoices i
              WHERE i.tenant_id = $1 AND i.customer_id = p.id ORDER BY id DESC LIMIT 3) i)),
    'wallets', (
        SELECT COALESCE(json_agg(json_build_object('id', w.id,
                   'balance', round(w.credit_balance * w.conversion_rate, 2)::text) ORDER BY w.id), '[]')
        FROM wallets w WHERE w.tenant_id = $1 AND w.customer_id = p.id)
)) ORDER BY p.id), '[]')))::text AS json
FROM page p
