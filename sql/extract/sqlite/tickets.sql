-- tickets that can count in, or are quarantined in, the month [:start, :end): opened before its
-- end and not resolved before its start (a ticket resolved earlier counted earlier), and every row
-- whose opened_at is not even date-shaped (listed as unparsable instead of never selected).
-- On SQLite that window is decided by the reader, row by row on the values SQLite hands over
-- (`sources::sqlite::in_window`, property-tested against this very predicate evaluated by SQLite:
--   (+opened_at < :end AND (resolved_at IS NULL OR +resolved_at >= :start OR +opened_at >= :start))
--   OR coalesce(opened_at, '') NOT GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*'):
-- evaluated by SQLite's VDBE it cost a quarter of the scan, in Rust it costs a few comparisons.
-- :part_lo and :part_hi split the read by rowid into pieces the cores take in turn (tickets.parts.sql
-- gives the range); a query without them is read on one connection.
SELECT ticket_id, partner_id, sla_class, responsibility, opened_at, resolved_at,
       critical_outage, dispatch_violation, false_info
FROM tickets
WHERE rowid >= :part_lo AND rowid < :part_hi
