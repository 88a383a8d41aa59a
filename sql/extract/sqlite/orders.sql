-- orders that can count in, or are quarantined in, the month [:start, :end): accepted before its
-- end and not completed before its start, and every row whose accepted_at is not even date-shaped.
-- As for tickets (see tickets.sql), SQLite hands the rows over and the reader decides the window:
--   (+accepted_at < :end AND (completed_at IS NULL OR +completed_at >= :start OR +accepted_at >= :start))
--   OR coalesce(accepted_at, '') NOT GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*'
-- :part_lo and :part_hi split the read by rowid over the cores (orders.parts.sql gives the range).
SELECT order_id, partner_id, accepted_at, due_at, completed_at
FROM orders
WHERE rowid >= :part_lo AND rowid < :part_hi
