-- The run ledger: one row per attempt at a job period, so `run due` knows what is done, an operator
-- sees what ran when and how it ended, and two processes never compute the same period at once.
-- On SQLite the running row is itself the lock: at most one per (job, period), with a lease the
-- run keeps extending (heartbeat); a row whose lease ran out belongs to a process that died and is
-- marked aborted by the next claimant. Times are UTC 'YYYY-MM-DD HH:MM:SS'.
CREATE TABLE run_ledger (
  run_id       TEXT PRIMARY KEY,
  job          TEXT NOT NULL,
  period       TEXT NOT NULL,
  attempt      INTEGER NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'aborted', 'superseded')),
  started_by   TEXT NOT NULL,             -- manual, due, serve
  started_at   TEXT NOT NULL,
  finished_at  TEXT,
  lease_until  TEXT,
  host         TEXT NOT NULL,
  pid          INTEGER NOT NULL,
  row_counts   TEXT,                      -- what the run read and wrote, for the operator
  error        TEXT,
  rules_hash   TEXT
);
CREATE UNIQUE INDEX run_ledger_one_running ON run_ledger (job, period) WHERE status = 'running';
CREATE UNIQUE INDEX run_ledger_one_success ON run_ledger (job, period) WHERE status = 'succeeded';
CREATE INDEX run_ledger_period ON run_ledger (job, period, attempt);
