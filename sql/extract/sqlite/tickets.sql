-- Rows whose timestamp is not even date-shaped are read every month, so that they are listed as
-- unparsable (data quality) instead of silently never selected.
-- tickets that can count in, or are quarantined in, the month [:start, :end):
-- opened before its end and not resolved before its start (a ticket resolved earlier counted earlier).
-- The unary + takes the TIMESTAMP column's numeric affinity off the comparison: otherwise SQLite
-- tries to read the bound text as a number on every row (a quarter of the scan), and the result is
-- the same, as a date-shaped text is never a number.
-- :part_lo and :part_hi split the read by rowid into pieces the cores take in turn (tickets.parts.sql
-- gives the range); a query without them is read on one connection.
SELECT ticket_id, partner_id, sla_class, responsibility, opened_at, resolved_at,
       critical_outage, dispatch_violation, false_info
FROM tickets
WHERE ((+opened_at < :end AND (resolved_at IS NULL OR +resolved_at >= :start OR +opened_at >= :start))
       OR coalesce(opened_at, '') NOT GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*')
  AND rowid >= :part_lo AND rowid < :part_hi
