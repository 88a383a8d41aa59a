-- manual points entered for the month :month ('YYYY-MM').
-- PostgreSQL: every column is read as canonical text (timestamps and dates formatted, numbers as written).
SELECT partner_id::text AS partner_id,
       month::text AS month,
       indicator::text AS indicator,
       points::text AS points,
       scored_by::text AS scored_by
FROM manual_scores WHERE month = :month
