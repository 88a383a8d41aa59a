-- Rows whose timestamp is not even date-shaped are read every month, so that they are listed as
-- unparsable (data quality) instead of silently never selected.
-- orders that can count in, or are quarantined in, the month [:start, :end).
-- The unary + skips the per-row numeric affinity of the TIMESTAMP columns (see tickets.sql).
-- :part_lo and :part_hi split the read by rowid over the cores (orders.parts.sql gives the range).
SELECT order_id, partner_id, accepted_at, due_at, completed_at
FROM orders
WHERE ((+accepted_at < :end AND (completed_at IS NULL OR +completed_at >= :start OR +accepted_at >= :start))
       OR coalesce(accepted_at, '') NOT GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*')
  AND rowid >= :part_lo AND rowid < :part_hi
