-- manual points entered for the month :month ('YYYY-MM').
-- MySQL/MariaDB: every column is read as canonical text (timestamps and dates formatted, numbers as written).
SELECT partner_id,
       month,
       indicator,
       CAST(points AS CHAR) AS points,
       scored_by
FROM manual_scores WHERE month = :month
