-- 不良信用记录名单 decisions, all rows.
SELECT partner_id, decided_on, reason FROM blacklist_entries
