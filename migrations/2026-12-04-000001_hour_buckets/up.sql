-- Hour buckets: rows of level -1 hold one UTC hour of a meter and external
-- customer id, start_day being then the hour's number (hours since
-- 1970-01-01 00:00 UTC). A range that starts or ends inside a rolled-up day
-- reads that day's whole hours from them instead of its raw events, so its
-- cost no longer follows how many events the day holds. An hour keeps its
-- UNIQUE_COUNT values as ids in value_ids only (value_bits stays NULL): it
-- holds few, and a bitmap would cost up to 512 bytes per row.
ALTER TABLE usage_buckets DROP CONSTRAINT usage_buckets_level_check;
ALTER TABLE usage_buckets ADD CONSTRAINT usage_buckets_level_check CHECK (level BETWEEN -1 AND 9);

-- Whether the hour buckets hold every rolled-up event of the day. The
-- first slice of a day's rollup sets it (rolling_to leaves the day's start):
-- from then on every writer of the day's buckets writes its hours too. A
-- day rolled up before, even in part, stays false and reads raw events; so
-- does a day first rolled up by a server of the version before this one.
ALTER TABLE usage_days ADD COLUMN hourly boolean NOT NULL DEFAULT false;
