-- Rows whose timestamp is not even date-shaped are read every month, so that they are listed as
-- unparsable (data quality) instead of silently never selected.
-- complaints received in the month [:start, :end).
SELECT complaint_id, partner_id, received_at, channel, escalation_steps, justified
FROM complaints WHERE (received_at >= :start AND received_at < :end) OR coalesce(received_at, '') NOT GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*'
