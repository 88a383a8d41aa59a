-- The results store on PostgreSQL: the SQLite schema after its migrations 0001-0005, in one step.
-- Money, scores and points are NUMERIC(14,2) (exact); text that is sorted or compared uses the
-- "C" collation so that orderings are bytewise, as on SQLite and MySQL (utf8mb4_bin).

CREATE TABLE monthly_runs (
  month        TEXT COLLATE "C" PRIMARY KEY,
  rules_hash   TEXT NOT NULL,
  computed_at  TEXT NOT NULL,
  partners     BIGINT NOT NULL,
  on_hold      BIGINT NOT NULL,
  quarantined  BIGINT NOT NULL,
  missing_history_months BIGINT NOT NULL
);

CREATE TABLE monthly_partner_results (
  month            TEXT COLLATE "C" NOT NULL REFERENCES monthly_runs(month),
  partner_id       TEXT COLLATE "C" NOT NULL,
  partner_name     TEXT NOT NULL,
  status           TEXT NOT NULL CHECK (status IN ('assessed', 'on_hold')),
  effectiveness    NUMERIC(14,2),
  credit_deduction NUMERIC(14,2),
  score            NUMERIC(14,2),
  grade            TEXT CHECK (grade IN ('A', 'B', 'C')),
  fees_total       NUMERIC(14,2),
  fees_excluded    NUMERIC(14,2),
  settlement       NUMERIC(14,2),
  c_grades_window  BIGINT NOT NULL,
  flags            TEXT NOT NULL,
  hold_reasons     TEXT NOT NULL,
  departments      TEXT NOT NULL,
  rules_hash       TEXT NOT NULL,
  PRIMARY KEY (month, partner_id)
);

CREATE TABLE monthly_indicator_results (
  seq        BIGSERIAL,
  month      TEXT COLLATE "C" NOT NULL REFERENCES monthly_runs(month),
  partner_id TEXT COLLATE "C" NOT NULL,
  indicator  TEXT COLLATE "C" NOT NULL,
  measured   NUMERIC(14,2),
  counted    BIGINT NOT NULL,
  points     NUMERIC(14,2) NOT NULL,
  weight     NUMERIC(14,2) NOT NULL,
  PRIMARY KEY (month, partner_id, indicator)
);

CREATE TABLE monthly_evidence (
  month       TEXT COLLATE "C" NOT NULL REFERENCES monthly_runs(month),
  partner_id  TEXT COLLATE "C" NOT NULL,
  indicator   TEXT COLLATE "C" NOT NULL,
  source      TEXT NOT NULL,
  row_id      TEXT COLLATE "C" NOT NULL,
  started_at  TEXT COLLATE "C",
  due_at      TEXT,
  finished_at TEXT,
  outcome     TEXT NOT NULL,
  value       TEXT,
  detail      TEXT NOT NULL
);
CREATE INDEX monthly_evidence_partner ON monthly_evidence (month, partner_id, indicator);

CREATE TABLE monthly_data_quality (
  month   TEXT COLLATE "C" NOT NULL REFERENCES monthly_runs(month),
  source  TEXT NOT NULL,
  row_id  TEXT NOT NULL,
  problem TEXT NOT NULL
);
CREATE INDEX monthly_data_quality_month ON monthly_data_quality (month);

CREATE TABLE quarterly_runs (
  quarter     TEXT COLLATE "C" PRIMARY KEY,
  rules_hash  TEXT NOT NULL,
  computed_at TEXT NOT NULL
);

CREATE TABLE presales_results (
  quarter            TEXT COLLATE "C" NOT NULL REFERENCES quarterly_runs(quarter),
  project_id         TEXT COLLATE "C" NOT NULL,
  partner_id         TEXT COLLATE "C" NOT NULL,
  project_name       TEXT NOT NULL,
  commissioning_unit TEXT NOT NULL,
  project_class      TEXT NOT NULL,
  fee_type           TEXT,
  base_fee           NUMERIC(14,2),
  coefficient        TEXT,
  workload_share     TEXT,
  assessment_score   NUMERIC(14,2),
  amount             NUMERIC(14,2),
  status             TEXT NOT NULL CHECK (status IN ('settled', 'held', 'not_payable')),
  reason             TEXT NOT NULL,
  PRIMARY KEY (quarter, project_id, partner_id, status)
);
CREATE INDEX presales_results_project ON presales_results (project_id, status);

CREATE TABLE renewal_notices (
  contract_id TEXT COLLATE "C" PRIMARY KEY,
  partner_id  TEXT NOT NULL,
  owner_email TEXT NOT NULL,
  end_date    TEXT NOT NULL,
  first_as_of TEXT NOT NULL
);

CREATE TABLE outbox (
  job        TEXT COLLATE "C" NOT NULL,
  period     TEXT COLLATE "C" NOT NULL,
  recipient  TEXT COLLATE "C" NOT NULL,
  kind       TEXT COLLATE "C" NOT NULL,
  subject    TEXT NOT NULL,
  message_id TEXT NOT NULL,
  eml        BYTEA NOT NULL,
  status     TEXT NOT NULL CHECK (status IN ('queued', 'sent')),
  created_at TEXT COLLATE "C" NOT NULL,
  sent_at    TEXT,
  transport  TEXT,
  attempts   BIGINT NOT NULL DEFAULT 0,
  last_error TEXT,
  PRIMARY KEY (job, period, recipient, kind)
);
CREATE INDEX outbox_queued ON outbox (status);

CREATE TABLE period_states (
  job          TEXT COLLATE "C" NOT NULL,
  period       TEXT COLLATE "C" NOT NULL,
  state        TEXT NOT NULL CHECK (state IN ('draft', 'approved', 'published')),
  approved_by  TEXT,
  approved_at  TEXT,
  comment      TEXT,
  published_at TEXT,
  PRIMARY KEY (job, period)
);

CREATE TABLE approved_snapshots (
  job     TEXT COLLATE "C" NOT NULL,
  period  TEXT COLLATE "C" NOT NULL,
  item    TEXT COLLATE "C" NOT NULL,
  score   NUMERIC(14,2),
  grade   TEXT,
  amount  NUMERIC(14,2),
  PRIMARY KEY (job, period, item)
);

CREATE TABLE audit_trail (
  seq    BIGSERIAL PRIMARY KEY,
  at     TEXT NOT NULL,
  actor  TEXT NOT NULL,
  action TEXT NOT NULL,
  job    TEXT NOT NULL,
  period TEXT NOT NULL,
  detail TEXT NOT NULL
);

CREATE TABLE rules_versions (
  hash           TEXT COLLATE "C" PRIMARY KEY,
  effective_from TEXT,
  text           TEXT NOT NULL,
  first_used_at  TEXT COLLATE "C" NOT NULL
);
