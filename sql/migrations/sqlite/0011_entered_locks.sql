-- One row per (dataset, period) that imports of entered records lock first, inside their
-- transaction: concurrent imports of the same period then take turns, and each reads what is
-- stored (its audit lines' old values, whether the period changed) only once it holds the lock.
CREATE TABLE entered_locks (
  dataset TEXT NOT NULL,
  period  TEXT NOT NULL,
  imports INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (dataset, period)
);
