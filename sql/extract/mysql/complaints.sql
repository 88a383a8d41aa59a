-- complaints received in the month [:start, :end).
-- MySQL/MariaDB: every column is read as canonical text (timestamps and dates formatted, numbers as written).
SELECT complaint_id,
       partner_id,
       DATE_FORMAT(received_at, '%Y-%m-%d %H:%i:%s') AS received_at,
       channel,
       CAST(escalation_steps AS CHAR) AS escalation_steps,
       CAST(justified AS CHAR) AS justified
FROM complaints WHERE received_at >= :start AND received_at < :end
