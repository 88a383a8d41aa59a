-- satisfaction surveys answered in the month [:start, :end).
SELECT survey_id, partner_id, answered_at, score FROM surveys WHERE answered_at >= :start AND answered_at < :end
