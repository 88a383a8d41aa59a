-- Imports of a (dataset, period) lock this row first; see the SQLite migration for the why.
CREATE TABLE entered_locks (
  dataset VARCHAR(32) NOT NULL,
  period  VARCHAR(16) NOT NULL,
  imports BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (dataset, period)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
