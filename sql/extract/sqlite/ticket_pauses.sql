-- Rows whose timestamp is not even date-shaped are read every month, so that they are listed as
-- unparsable (data quality) instead of silently never selected.
-- Pauses taken before the month's end [:start, :end): those of the month's tickets among them
-- (a pause taken from the end on cannot move a deadline that falls in the month), and those taken
-- in the month, to report the invalid ones. Which belong to the month's tickets is decided after
-- reading: the source has no index on ticket_id, and a subquery over tickets would read that
-- table a second time.
-- The unary + skips the per-row numeric affinity of the TIMESTAMP column (see tickets.sql).
SELECT ticket_id, paused_at, resumed_at
FROM ticket_pauses
WHERE +paused_at < :end OR coalesce(paused_at, '') NOT GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*'
