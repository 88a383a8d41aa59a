-- tickets that can count in, or are quarantined in, the month [:start, :end):
-- opened before its end and not resolved before its start (a ticket resolved earlier counted earlier).
-- PostgreSQL: ids, codes and flags as canonical text, instants as `timestamp` (binary COPY hands
-- them over as integers, so the server formats nothing).
-- :part_lo and :part_hi bound the table's pages (`tid`s): the month is read in ranges side by side,
-- each a TID range scan; one read gives '(0,0)' and the last page there can be.
SELECT ticket_id::text AS ticket_id,
       partner_id::text AS partner_id,
       sla_class::text AS sla_class,
       responsibility::text AS responsibility,
       opened_at::timestamp AS opened_at,
       resolved_at::timestamp AS resolved_at,
       critical_outage::text AS critical_outage,
       dispatch_violation::text AS dispatch_violation,
       false_info::text AS false_info
FROM tickets
WHERE opened_at < CAST(:end AS timestamp) AND (resolved_at IS NULL OR resolved_at >= CAST(:start AS timestamp) OR opened_at >= CAST(:start AS timestamp))
  AND ctid >= CAST(:part_lo AS tid) AND ctid < CAST(:part_hi AS tid)
