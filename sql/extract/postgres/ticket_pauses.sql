-- Pauses taken before the month's end [:start, :end), as the SQLite source reads them: those of
-- the month's tickets among them (a pause taken from the end on cannot move a deadline that falls
-- in the month), and those taken in the month, to report the invalid ones. Which belong to the
-- month's tickets is decided after reading. Not a join with the tickets: that scanned every
-- ticket a second time and hashed them (in 128 batches with the 4 MB work_mem a server has as
-- installed), four of the ten seconds of server time a 10M month took; nor
-- `ticket_id IN (SELECT … FROM tickets …) OR …`, which PostgreSQL runs as a per-row SubPlan once
-- the month's tickets outgrow work_mem (no end in 10 minutes at 1M tickets).
-- A pause at `infinity` is no instant: read every month and listed as unparsable, as SQLite lists
-- text that is not a date.
-- PostgreSQL: the ticket id as text, instants as `timestamp` (binary COPY hands them over as
-- integers, so the server formats nothing).
SELECT ticket_id::text AS ticket_id,
       paused_at::timestamp AS paused_at,
       resumed_at::timestamp AS resumed_at
FROM ticket_pauses
WHERE paused_at < CAST(:end AS timestamp) OR paused_at IS NULL OR NOT isfinite(paused_at)
