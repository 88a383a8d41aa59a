-- 不良信用记录名单 decisions, all rows.
-- MySQL/MariaDB: every column is read as canonical text (timestamps and dates formatted, numbers as written).
SELECT partner_id,
       DATE_FORMAT(decided_on, '%Y-%m-%d') AS decided_on,
       reason
FROM blacklist_entries
