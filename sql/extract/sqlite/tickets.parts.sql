-- The rowid range the ticket read is split over (pieces the cores take in turn); read in the
-- same snapshot.
-- Two subqueries: SQLite answers a lone min() or max() from the rowid index at once, both in one
-- SELECT by a full scan.
SELECT (SELECT min(rowid) FROM tickets), (SELECT max(rowid) FROM tickets)
