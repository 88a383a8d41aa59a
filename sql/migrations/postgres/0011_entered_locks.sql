-- Imports of a (dataset, period) lock this row first; see the SQLite migration for the why.
CREATE TABLE entered_locks (
  dataset TEXT NOT NULL,
  period  TEXT NOT NULL,
  imports BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (dataset, period)
);
