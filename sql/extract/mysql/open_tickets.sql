-- tickets still unresolved that were opened before :end (the day after the as-of date): what a
-- leaving partner must clear (第三十八条).
-- MySQL/MariaDB: every column is read as canonical text (timestamps and dates formatted, numbers as written).
SELECT ticket_id,
       partner_id
FROM tickets WHERE resolved_at IS NULL AND opened_at < :end
