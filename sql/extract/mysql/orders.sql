-- orders that can count in, or are quarantined in, the month [:start, :end).
-- MySQL/MariaDB: every column is read as canonical text (timestamps and dates formatted, numbers as written).
SELECT order_id,
       partner_id,
       DATE_FORMAT(accepted_at, '%Y-%m-%d %H:%i:%s') AS accepted_at,
       DATE_FORMAT(due_at, '%Y-%m-%d %H:%i:%s') AS due_at,
       DATE_FORMAT(completed_at, '%Y-%m-%d %H:%i:%s') AS completed_at
FROM orders
WHERE accepted_at < :end AND (completed_at IS NULL OR completed_at >= :start OR accepted_at >= :start)
