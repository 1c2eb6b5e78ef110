DROP TABLE integration_mappings;
DROP TABLE customers;
DROP TABLE api_keys;
DROP TABLE tenants;
