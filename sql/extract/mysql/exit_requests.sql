-- exit requests, all rows.
-- MySQL/MariaDB: every column is read as canonical text (timestamps and dates formatted, numbers as written).
SELECT request_id,
       partner_id,
       contract_id,
       exit_type,
       DATE_FORMAT(requested_on, '%Y-%m-%d') AS requested_on,
       DATE_FORMAT(planned_exit_on, '%Y-%m-%d') AS planned_exit_on
FROM exit_requests
