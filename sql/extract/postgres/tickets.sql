-- tickets that can count in, or are quarantined in, the month [:start, :end):
-- opened before its end and not resolved before its start (a ticket resolved earlier counted earlier).
-- PostgreSQL: ids and codes as text, the flags and instants as they are stored (integer and
-- `timestamp`: binary COPY hands them over as integers, so the server formats nothing). A flag of
-- 0 is sent as NULL, which reads as the contract's default 0: a NULL costs the server no output
-- call, and the flags set are few (1.6 of the 6 seconds the server spent sending 9.3M tickets
-- went on the three flag columns; 0.6 with NULLIF).
-- :part_lo and :part_hi bound the table's pages (`tid`s): the month is read in ranges side by side,
-- each a TID range scan; one read gives '(0,0)' and the last page there can be.
SELECT ticket_id::text AS ticket_id,
       partner_id::text AS partner_id,
       sla_class::text AS sla_class,
       responsibility::text AS responsibility,
       opened_at::timestamp AS opened_at,
       resolved_at::timestamp AS resolved_at,
       NULLIF(critical_outage, 0) AS critical_outage,
       NULLIF(dispatch_violation, 0) AS dispatch_violation,
       NULLIF(false_info, 0) AS false_info
FROM tickets
WHERE opened_at < CAST(:end AS timestamp) AND (resolved_at IS NULL OR resolved_at >= CAST(:start AS timestamp) OR opened_at >= CAST(:start AS timestamp))
  AND ctid >= CAST(:part_lo AS tid) AND ctid < CAST(:part_hi AS tid)
