-- The pages the order read is split over: ranges of `ctid` (`:part_lo`, `:part_hi` in
-- orders.sql), each read on its own connection in the same snapshot as a TID range scan. NULL
-- where the server cannot scan a range alone (before PostgreSQL 14 a ctid range is a filter over
-- the whole table) or `orders` is no table; the read is then one piece.
SELECT CASE WHEN current_setting('server_version_num')::int >= 140000
            THEN pg_relation_size(to_regclass('orders')) / current_setting('block_size')::int8
       END AS pages
