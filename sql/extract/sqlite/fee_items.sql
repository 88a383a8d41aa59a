-- fee items of the service month :month ('YYYY-MM').
SELECT fee_id, contract_id, service_month, amount, description FROM fee_items WHERE service_month = :month
