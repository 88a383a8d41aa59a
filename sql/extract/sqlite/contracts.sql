-- contracts: all rows; the core decides which are in force.
SELECT contract_id, partner_id, kind, start_date, end_date, department, owner_email, terminated_on FROM contracts
