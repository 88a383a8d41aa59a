-- partners: every ICT support partner (all rows).
-- MySQL/MariaDB: every column is read as canonical text (timestamps and dates formatted, numbers as written).
SELECT partner_id,
       name,
       contact_email
FROM partners
