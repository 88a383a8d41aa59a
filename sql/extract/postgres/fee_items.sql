-- fee items of the service month :month ('YYYY-MM').
-- PostgreSQL: every column is read as canonical text (timestamps and dates formatted, numbers as written).
SELECT fee_id::text AS fee_id,
       contract_id::text AS contract_id,
       service_month::text AS service_month,
       amount::text AS amount,
       description::text AS description
FROM fee_items WHERE service_month = :month
