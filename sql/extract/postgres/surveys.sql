-- satisfaction surveys answered in the month [:start, :end).
-- PostgreSQL: every column is read as canonical text (timestamps and dates formatted, numbers as written).
SELECT survey_id::text AS survey_id,
       partner_id::text AS partner_id,
       to_char(answered_at, 'YYYY-MM-DD HH24:MI:SS') AS answered_at,
       score::text AS score
FROM surveys WHERE answered_at >= CAST(:start AS timestamp) AND answered_at < CAST(:end AS timestamp)
