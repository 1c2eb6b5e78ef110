ALTER TABLE usage_days DROP COLUMN hourly;
DELETE FROM usage_buckets WHERE level < 0;
ALTER TABLE usage_buckets DROP CONSTRAINT usage_buckets_level_check;
ALTER TABLE usage_buckets ADD CONSTRAINT usage_buckets_level_check CHECK (level BETWEEN 0 AND 9);
