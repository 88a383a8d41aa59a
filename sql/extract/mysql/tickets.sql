-- tickets that can count in, or are quarantined in, the month [:start, :end):
-- opened before its end and not resolved before its start (a ticket resolved earlier counted earlier).
-- MySQL/MariaDB: every column is read as canonical text (timestamps and dates formatted, numbers as written).
SELECT ticket_id,
       partner_id,
       sla_class,
       responsibility,
       DATE_FORMAT(opened_at, '%Y-%m-%d %H:%i:%s') AS opened_at,
       DATE_FORMAT(resolved_at, '%Y-%m-%d %H:%i:%s') AS resolved_at,
       CAST(critical_outage AS CHAR) AS critical_outage,
       CAST(dispatch_violation AS CHAR) AS dispatch_violation,
       CAST(false_info AS CHAR) AS false_info
FROM tickets
WHERE opened_at < :end AND (resolved_at IS NULL OR resolved_at >= :start OR opened_at >= :start)
