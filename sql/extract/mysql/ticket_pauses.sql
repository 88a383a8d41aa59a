-- pauses of the month's tickets, and any pause taken in the month [:start, :end) (to report invalid ones).
-- MySQL/MariaDB: every column is read as canonical text (timestamps and dates formatted, numbers as written).
-- One pass over the pauses, each pause's ticket looked up by ticket_id, the primary key (eq_ref: at
-- most one row): a pause is kept when its ticket is one of the month's or when it was taken in the
-- month. Not `ticket_id IN (SELECT … FROM tickets …) OR …`, which runs as a dependent subquery
-- per pause. The WHERE keeps the outer join an outer join (it accepts a pause without a ticket),
-- so the pauses stay the driving table: MariaDB joins by nested loops, and tickets read any other
-- way than by key would be scanned once per block of pauses.
SELECT p.ticket_id AS ticket_id,
       DATE_FORMAT(p.paused_at, '%Y-%m-%d %H:%i:%s') AS paused_at,
       DATE_FORMAT(p.resumed_at, '%Y-%m-%d %H:%i:%s') AS resumed_at
FROM ticket_pauses p
LEFT JOIN tickets t
       ON t.ticket_id = p.ticket_id
      AND t.opened_at < :end AND (t.resolved_at IS NULL OR t.resolved_at >= :start OR t.opened_at >= :start)
WHERE t.ticket_id IS NOT NULL
   OR (p.paused_at >= :start AND p.paused_at < :end)
