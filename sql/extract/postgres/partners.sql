-- partners: every ICT support partner (all rows).
-- PostgreSQL: every column is read as canonical text (timestamps and dates formatted, numbers as written).
SELECT partner_id::text AS partner_id,
       name::text AS name,
       contact_email::text AS contact_email
FROM partners
