-- orders that can count in, or are quarantined in, the month [:start, :end).
-- PostgreSQL: ids, codes and flags as canonical text, instants as `timestamp` (binary COPY hands
-- them over as integers, so the server formats nothing).
-- :part_lo and :part_hi bound the table's pages as in tickets.sql (orders.parts.sql counts them).
SELECT order_id::text AS order_id,
       partner_id::text AS partner_id,
       accepted_at::timestamp AS accepted_at,
       due_at::timestamp AS due_at,
       completed_at::timestamp AS completed_at
FROM orders
WHERE accepted_at < CAST(:end AS timestamp) AND (completed_at IS NULL OR completed_at >= CAST(:start AS timestamp) OR accepted_at >= CAST(:start AS timestamp))
  AND ctid >= CAST(:part_lo AS tid) AND ctid < CAST(:part_hi AS tid)
