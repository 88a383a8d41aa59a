-- complaints received in the month [?1, ?2).
SELECT complaint_id, partner_id, received_at, channel, escalation_steps, justified
FROM complaints WHERE received_at >= ?1 AND received_at < ?2
