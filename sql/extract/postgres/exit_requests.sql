-- exit requests, all rows.
-- PostgreSQL: every column is read as canonical text (timestamps and dates formatted, numbers as written).
SELECT request_id::text AS request_id,
       partner_id::text AS partner_id,
       contract_id::text AS contract_id,
       exit_type::text AS exit_type,
       to_char(requested_on, 'YYYY-MM-DD') AS requested_on,
       to_char(planned_exit_on, 'YYYY-MM-DD') AS planned_exit_on
FROM exit_requests
