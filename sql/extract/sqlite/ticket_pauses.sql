-- Rows whose timestamp is not even date-shaped are read every month, so that they are listed as
-- unparsable (data quality) instead of silently never selected.
-- pauses of the month's tickets, and any pause taken in the month [:start, :end) (to report invalid ones).
SELECT ticket_id, paused_at, resumed_at
FROM ticket_pauses
WHERE ticket_id IN (SELECT ticket_id FROM tickets
                    WHERE opened_at < :end AND (resolved_at IS NULL OR resolved_at >= :start OR opened_at >= :start))
   OR (paused_at >= :start AND paused_at < :end) OR coalesce(paused_at, '') NOT GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*'
