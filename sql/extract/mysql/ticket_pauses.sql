-- pauses of the month's tickets, and any pause taken in the month [:start, :end) (to report invalid ones).
-- MySQL/MariaDB: every column is read as canonical text (timestamps and dates formatted, numbers as written).
SELECT ticket_id,
       DATE_FORMAT(paused_at, '%Y-%m-%d %H:%i:%s') AS paused_at,
       DATE_FORMAT(resumed_at, '%Y-%m-%d %H:%i:%s') AS resumed_at
FROM ticket_pauses
WHERE ticket_id IN (SELECT ticket_id FROM tickets
                    WHERE opened_at < :end AND (resolved_at IS NULL OR resolved_at >= :start OR opened_at >= :start))
   OR (paused_at >= :start AND paused_at < :end)
