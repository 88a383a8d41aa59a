-- 不良信用记录名单 decisions, all rows.
-- PostgreSQL: every column is read as canonical text (timestamps and dates formatted, numbers as written).
SELECT partner_id::text AS partner_id,
       to_char(decided_on, 'YYYY-MM-DD') AS decided_on,
       reason::text AS reason
FROM blacklist_entries
