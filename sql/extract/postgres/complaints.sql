-- complaints received in the month [:start, :end).
-- PostgreSQL: every column is read as canonical text (timestamps and dates formatted, numbers as written).
SELECT complaint_id::text AS complaint_id,
       partner_id::text AS partner_id,
       to_char(received_at, 'YYYY-MM-DD HH24:MI:SS') AS received_at,
       channel::text AS channel,
       escalation_steps::text AS escalation_steps,
       justified::text AS justified
FROM complaints WHERE received_at >= CAST(:start AS timestamp) AND received_at < CAST(:end AS timestamp)
