-- tickets that can count in, or are quarantined in, the month [:start, :end):
-- opened before its end and not resolved before its start (a ticket resolved earlier counted earlier).
-- PostgreSQL: every column is read as canonical text (timestamps and dates formatted, numbers as written).
SELECT ticket_id::text AS ticket_id,
       partner_id::text AS partner_id,
       sla_class::text AS sla_class,
       responsibility::text AS responsibility,
       to_char(opened_at, 'YYYY-MM-DD HH24:MI:SS') AS opened_at,
       to_char(resolved_at, 'YYYY-MM-DD HH24:MI:SS') AS resolved_at,
       critical_outage::text AS critical_outage,
       dispatch_violation::text AS dispatch_violation,
       false_info::text AS false_info
FROM tickets
WHERE opened_at < CAST(:end AS timestamp) AND (resolved_at IS NULL OR resolved_at >= CAST(:start AS timestamp) OR opened_at >= CAST(:start AS timestamp))
