DROP TABLE prices;
DROP TABLE plans;
