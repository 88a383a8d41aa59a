-- satisfaction surveys answered in the month [?1, ?2).
SELECT survey_id, partner_id, answered_at, score FROM surveys WHERE answered_at >= ?1 AND answered_at < ?2
