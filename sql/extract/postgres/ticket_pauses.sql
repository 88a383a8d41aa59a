-- pauses of the month's tickets, and any pause taken in the month [:start, :end) (to report invalid ones).
-- PostgreSQL: ids, codes and flags as canonical text, instants as `timestamp` (binary COPY hands
-- them over as integers, so the server formats nothing).
-- One pass over each table: a pause is kept when its ticket is one of the month's (the outer join
-- finds it by ticket_id, the primary key, so at most one) or when it was taken in the month. Not
-- `ticket_id IN (SELECT … FROM tickets …) OR …`: an IN under an OR cannot become a join, and once
-- the month's tickets no longer fit in the hash work_mem allows (4 MB as installed) PostgreSQL runs
-- it as a per-row SubPlan over all of them, quadratic (no end in 10 minutes at 1M tickets). This
-- plans as a hash join (in batches when the hash does not fit), linear whatever work_mem is.
SELECT p.ticket_id::text AS ticket_id,
       p.paused_at::timestamp AS paused_at,
       p.resumed_at::timestamp AS resumed_at
FROM ticket_pauses p
LEFT JOIN tickets t
       ON t.ticket_id = p.ticket_id
      AND t.opened_at < CAST(:end AS timestamp) AND (t.resolved_at IS NULL OR t.resolved_at >= CAST(:start AS timestamp) OR t.opened_at >= CAST(:start AS timestamp))
WHERE t.ticket_id IS NOT NULL
   OR (p.paused_at >= CAST(:start AS timestamp) AND p.paused_at < CAST(:end AS timestamp))
