-- fee items found by audit: never settled.
-- MySQL/MariaDB: every column is read as canonical text (timestamps and dates formatted, numbers as written).
SELECT fee_id,
       reason,
       DATE_FORMAT(found_on, '%Y-%m-%d') AS found_on
FROM audit_exclusions
