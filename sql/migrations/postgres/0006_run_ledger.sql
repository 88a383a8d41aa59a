-- The run ledger (see the SQLite migration for the why). On PostgreSQL a run also holds a session
-- advisory lock on its (job, period) for its whole duration; the partial unique indexes keep the
-- ledger consistent whatever the lock does. Times are UTC 'YYYY-MM-DD HH:MM:SS'.
CREATE TABLE run_ledger (
  run_id       TEXT COLLATE "C" PRIMARY KEY,
  job          TEXT COLLATE "C" NOT NULL,
  period       TEXT COLLATE "C" NOT NULL,
  attempt      BIGINT NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'aborted', 'superseded')),
  started_by   TEXT NOT NULL,
  started_at   TEXT COLLATE "C" NOT NULL,
  finished_at  TEXT,
  lease_until  TEXT COLLATE "C",
  host         TEXT NOT NULL,
  pid          BIGINT NOT NULL,
  row_counts   TEXT,
  error        TEXT,
  rules_hash   TEXT
);
CREATE UNIQUE INDEX run_ledger_one_running ON run_ledger (job, period) WHERE status = 'running';
CREATE UNIQUE INDEX run_ledger_one_success ON run_ledger (job, period) WHERE status = 'succeeded';
CREATE INDEX run_ledger_period ON run_ledger (job, period, attempt);
