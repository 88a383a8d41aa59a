-- pauses of the month's tickets, and any pause taken in the month [:start, :end) (to report invalid ones).
-- PostgreSQL: every column is read as canonical text (timestamps and dates formatted, numbers as written).
SELECT ticket_id::text AS ticket_id,
       to_char(paused_at, 'YYYY-MM-DD HH24:MI:SS') AS paused_at,
       to_char(resumed_at, 'YYYY-MM-DD HH24:MI:SS') AS resumed_at
FROM ticket_pauses
WHERE ticket_id IN (SELECT ticket_id FROM tickets
                    WHERE opened_at < CAST(:end AS timestamp) AND (resolved_at IS NULL OR resolved_at >= CAST(:start AS timestamp) OR opened_at >= CAST(:start AS timestamp)))
   OR (paused_at >= CAST(:start AS timestamp) AND paused_at < CAST(:end AS timestamp))
