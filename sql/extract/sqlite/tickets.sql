-- Rows whose timestamp is not even date-shaped are read every month, so that they are listed as
-- unparsable (data quality) instead of silently never selected.
-- tickets that can count in, or are quarantined in, the month [:start, :end):
-- opened before its end and not resolved before its start (a ticket resolved earlier counted earlier).
SELECT ticket_id, partner_id, sla_class, responsibility, opened_at, resolved_at,
       critical_outage, dispatch_violation, false_info
FROM tickets
WHERE (opened_at < :end AND (resolved_at IS NULL OR resolved_at >= :start OR opened_at >= :start))
   OR coalesce(opened_at, '') NOT GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*'
