-- complaints received in the month [:start, :end).
SELECT complaint_id, partner_id, received_at, channel, escalation_steps, justified
FROM complaints WHERE received_at >= :start AND received_at < :end
