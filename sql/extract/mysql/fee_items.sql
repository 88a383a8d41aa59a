-- fee items of the service month :month ('YYYY-MM').
-- MySQL/MariaDB: every column is read as canonical text (timestamps and dates formatted, numbers as written).
SELECT fee_id,
       contract_id,
       service_month,
       CAST(amount AS CHAR) AS amount,
       description
FROM fee_items WHERE service_month = :month
