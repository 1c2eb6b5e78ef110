-- The value ids from 4096 on of several buckets, concatenated (ids may
-- repeat: their readers count distinct ones). Usage adds up a stretch's
-- day buckets with it as it reads them, one row per meter instead of one
-- per bucket and meter. array_cat passes NULLs over.
CREATE AGGREGATE billgraph_ids_cat(integer[]) (SFUNC = array_cat, STYPE = integer[]);
