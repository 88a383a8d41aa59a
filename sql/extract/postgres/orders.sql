-- orders that can count in, or are quarantined in, the month [:start, :end).
-- PostgreSQL: every column is read as canonical text (timestamps and dates formatted, numbers as written).
SELECT order_id::text AS order_id,
       partner_id::text AS partner_id,
       to_char(accepted_at, 'YYYY-MM-DD HH24:MI:SS') AS accepted_at,
       to_char(due_at, 'YYYY-MM-DD HH24:MI:SS') AS due_at,
       to_char(completed_at, 'YYYY-MM-DD HH24:MI:SS') AS completed_at
FROM orders
WHERE accepted_at < CAST(:end AS timestamp) AND (completed_at IS NULL OR completed_at >= CAST(:start AS timestamp) OR accepted_at >= CAST(:start AS timestamp))
