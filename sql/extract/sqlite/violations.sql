-- violations (all rows: monthly deductions, renewal and annual credit read them).
SELECT violation_id, partner_id, confirmed_on, class, category, points, severe, description FROM violations
