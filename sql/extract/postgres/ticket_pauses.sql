-- pauses of the month's tickets, and any pause taken in the month [:start, :end) (to report invalid ones).
-- PostgreSQL: every column is read as canonical text (timestamps and dates formatted, numbers as written).
-- One pass over each table: a pause is kept when its ticket is one of the month's (the outer join
-- finds it by ticket_id, the primary key, so at most one) or when it was taken in the month. Not
-- `ticket_id IN (SELECT … FROM tickets …) OR …`: an IN under an OR cannot become a join, and once
-- the month's tickets no longer fit in the hash work_mem allows (4 MB as installed) PostgreSQL runs
-- it as a per-row SubPlan over all of them, quadratic (no end in 10 minutes at 1M tickets). This
-- plans as a hash join (in batches when the hash does not fit), linear whatever work_mem is.
SELECT p.ticket_id::text AS ticket_id,
       to_char(p.paused_at, 'YYYY-MM-DD HH24:MI:SS') AS paused_at,
       to_char(p.resumed_at, 'YYYY-MM-DD HH24:MI:SS') AS resumed_at
FROM ticket_pauses p
LEFT JOIN tickets t
       ON t.ticket_id = p.ticket_id
      AND t.opened_at < CAST(:end AS timestamp) AND (t.resolved_at IS NULL OR t.resolved_at >= CAST(:start AS timestamp) OR t.opened_at >= CAST(:start AS timestamp))
WHERE t.ticket_id IS NOT NULL
   OR (p.paused_at >= CAST(:start AS timestamp) AND p.paused_at < CAST(:end AS timestamp))
