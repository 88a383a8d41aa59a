-- The results store (SQLite). Money, scores and points are canonical decimal text with exactly
-- two decimals (never REAL), so that they read back to the cent.

CREATE TABLE monthly_runs (
  month        TEXT PRIMARY KEY,          -- 'YYYY-MM'
  rules_hash   TEXT NOT NULL,             -- SHA-256 of the rules file the month was computed with
  computed_at  TEXT NOT NULL,             -- local wall-clock time of the run
  partners     INTEGER NOT NULL,
  on_hold      INTEGER NOT NULL,
  quarantined  INTEGER NOT NULL,
  missing_history_months INTEGER NOT NULL
);

CREATE TABLE monthly_partner_results (
  month            TEXT NOT NULL REFERENCES monthly_runs(month),
  partner_id       TEXT NOT NULL,
  partner_name     TEXT NOT NULL,
  status           TEXT NOT NULL CHECK (status IN ('assessed', 'on_hold')),
  effectiveness    TEXT,
  credit_deduction TEXT,
  score            TEXT,
  grade            TEXT CHECK (grade IN ('A', 'B', 'C')),
  fees_total       TEXT,
  fees_excluded    TEXT,
  settlement       TEXT,
  c_grades_window  INTEGER NOT NULL,
  flags            TEXT NOT NULL,           -- ';'-joined, sorted
  hold_reasons     TEXT NOT NULL,           -- ';'-joined, sorted
  departments      TEXT NOT NULL,           -- ';'-joined 归口管理部门
  rules_hash       TEXT NOT NULL,
  PRIMARY KEY (month, partner_id)
);

CREATE TABLE monthly_indicator_results (
  month      TEXT NOT NULL REFERENCES monthly_runs(month),
  partner_id TEXT NOT NULL,
  indicator  TEXT NOT NULL,
  measured   TEXT,
  counted    INTEGER NOT NULL,
  points     TEXT NOT NULL,
  weight     TEXT NOT NULL,
  PRIMARY KEY (month, partner_id, indicator)
);

-- Every source row behind a number: which tickets counted (on time or late, with their deadline),
-- which events cost points, which violations were deducted, which fee items were settled or excluded.
CREATE TABLE monthly_evidence (
  month       TEXT NOT NULL REFERENCES monthly_runs(month),
  partner_id  TEXT NOT NULL,
  indicator   TEXT NOT NULL,
  source      TEXT NOT NULL,
  row_id      TEXT NOT NULL,
  started_at  TEXT,
  due_at      TEXT,
  finished_at TEXT,
  outcome     TEXT NOT NULL,
  value       TEXT,
  detail      TEXT NOT NULL
);
CREATE INDEX monthly_evidence_partner ON monthly_evidence (month, partner_id, indicator);

CREATE TABLE monthly_data_quality (
  month   TEXT NOT NULL REFERENCES monthly_runs(month),
  source  TEXT NOT NULL,
  row_id  TEXT NOT NULL,
  problem TEXT NOT NULL
);
CREATE INDEX monthly_data_quality_month ON monthly_data_quality (month);
