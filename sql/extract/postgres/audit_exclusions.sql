-- fee items found by audit: never settled.
-- PostgreSQL: every column is read as canonical text (timestamps and dates formatted, numbers as written).
SELECT fee_id::text AS fee_id,
       reason::text AS reason,
       to_char(found_on, 'YYYY-MM-DD') AS found_on
FROM audit_exclusions
