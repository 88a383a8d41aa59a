-- contracts: all rows; the core decides which are in force.
-- MySQL/MariaDB: every column is read as canonical text (timestamps and dates formatted, numbers as written).
SELECT contract_id,
       partner_id,
       kind,
       DATE_FORMAT(start_date, '%Y-%m-%d') AS start_date,
       DATE_FORMAT(end_date, '%Y-%m-%d') AS end_date,
       department,
       owner_email,
       DATE_FORMAT(terminated_on, '%Y-%m-%d') AS terminated_on
FROM contracts
