-- orders that can count in, or are quarantined in, the month [?1, ?2).
SELECT order_id, partner_id, accepted_at, due_at, completed_at
FROM orders
WHERE accepted_at < ?2 AND (completed_at IS NULL OR completed_at >= ?1 OR accepted_at >= ?1)
