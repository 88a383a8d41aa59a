-- pauses of the month's tickets, and any pause taken in the month [?1, ?2) (to report invalid ones).
SELECT ticket_id, paused_at, resumed_at
FROM ticket_pauses
WHERE ticket_id IN (SELECT ticket_id FROM tickets
                    WHERE opened_at < ?2 AND (resolved_at IS NULL OR resolved_at >= ?1 OR opened_at >= ?1))
   OR (paused_at >= ?1 AND paused_at < ?2)
