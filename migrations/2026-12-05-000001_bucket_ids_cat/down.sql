DROP AGGREGATE billgraph_ids_cat(integer[]);
