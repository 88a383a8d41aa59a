-- satisfaction surveys answered in the month [:start, :end).
-- MySQL/MariaDB: every column is read as canonical text (timestamps and dates formatted, numbers as written).
SELECT survey_id,
       partner_id,
       DATE_FORMAT(answered_at, '%Y-%m-%d %H:%i:%s') AS answered_at,
       CAST(score AS CHAR) AS score
FROM surveys WHERE answered_at >= :start AND answered_at < :end
