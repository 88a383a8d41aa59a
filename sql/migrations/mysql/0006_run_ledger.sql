-- The run ledger (see the SQLite migration for the why). On MySQL a run also holds GET_LOCK on its
-- (job, period) for its whole duration. MySQL has no partial indexes: the "one running, one
-- succeeded row per period" rules are unique keys on generated columns that are NULL otherwise.
CREATE TABLE run_ledger (
  run_id       VARCHAR(64) PRIMARY KEY,
  job          VARCHAR(16) NOT NULL,
  period       VARCHAR(16) NOT NULL,
  attempt      BIGINT NOT NULL,
  status       VARCHAR(16) NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'aborted', 'superseded')),
  started_by   VARCHAR(16) NOT NULL,
  started_at   VARCHAR(19) NOT NULL,
  finished_at  VARCHAR(19),
  lease_until  VARCHAR(19),
  host         VARCHAR(255) NOT NULL,
  pid          BIGINT NOT NULL,
  row_counts   VARCHAR(2000),
  error        TEXT,
  rules_hash   VARCHAR(64),
  running_key  VARCHAR(40) AS (CASE WHEN status = 'running' THEN CONCAT(job, '/', period) END) STORED,
  success_key  VARCHAR(40) AS (CASE WHEN status = 'succeeded' THEN CONCAT(job, '/', period) END) STORED,
  UNIQUE KEY run_ledger_one_running (running_key),
  UNIQUE KEY run_ledger_one_success (success_key),
  KEY run_ledger_period (job, period, attempt)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
