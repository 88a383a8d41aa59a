-- contracts: all rows; the core decides which are in force.
-- PostgreSQL: every column is read as canonical text (timestamps and dates formatted, numbers as written).
SELECT contract_id::text AS contract_id,
       partner_id::text AS partner_id,
       kind::text AS kind,
       to_char(start_date, 'YYYY-MM-DD') AS start_date,
       to_char(end_date, 'YYYY-MM-DD') AS end_date,
       department::text AS department,
       owner_email::text AS owner_email,
       to_char(terminated_on, 'YYYY-MM-DD') AS terminated_on
FROM contracts
