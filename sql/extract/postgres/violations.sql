-- violations (all rows: monthly deductions, renewal and annual credit read them).
-- PostgreSQL: every column is read as canonical text (timestamps and dates formatted, numbers as written).
SELECT violation_id::text AS violation_id,
       partner_id::text AS partner_id,
       to_char(confirmed_on, 'YYYY-MM-DD') AS confirmed_on,
       class::text AS class,
       category::text AS category,
       points::text AS points,
       severe::text AS severe,
       description::text AS description
FROM violations
