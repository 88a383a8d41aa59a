-- violations (all rows: monthly deductions, renewal and annual credit read them).
-- MySQL/MariaDB: every column is read as canonical text (timestamps and dates formatted, numbers as written).
SELECT violation_id,
       partner_id,
       DATE_FORMAT(confirmed_on, '%Y-%m-%d') AS confirmed_on,
       CAST(class AS CHAR) AS class,
       category,
       CAST(points AS CHAR) AS points,
       CAST(severe AS CHAR) AS severe,
       description
FROM violations
