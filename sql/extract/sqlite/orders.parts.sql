-- The rowid range the order read is split over; read in the same snapshot.
SELECT (SELECT min(rowid) FROM orders), (SELECT max(rowid) FROM orders)
