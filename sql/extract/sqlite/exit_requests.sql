-- exit requests, all rows.
SELECT request_id, partner_id, contract_id, exit_type, requested_on, planned_exit_on FROM exit_requests
