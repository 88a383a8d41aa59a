-- Rows whose timestamp is not even date-shaped are read every month, so that they are listed as
-- unparsable (data quality) instead of silently never selected.
-- satisfaction surveys answered in the month [:start, :end).
SELECT survey_id, partner_id, answered_at, score FROM surveys WHERE (answered_at >= :start AND answered_at < :end) OR coalesce(answered_at, '') NOT GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*'
