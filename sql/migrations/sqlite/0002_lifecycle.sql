-- Presales settlements per quarter (a project is settled once across quarters) and renewal notices
-- (one per contract, ever). Money as canonical decimal text.

CREATE TABLE quarterly_runs (
  quarter     TEXT PRIMARY KEY,           -- 'YYYY-Qn'
  rules_hash  TEXT NOT NULL,
  computed_at TEXT NOT NULL
);

CREATE TABLE presales_results (
  quarter            TEXT NOT NULL REFERENCES quarterly_runs(quarter),
  project_id         TEXT NOT NULL,
  partner_id         TEXT NOT NULL,        -- '' on held and not-payable rows
  project_name       TEXT NOT NULL,
  commissioning_unit TEXT NOT NULL,
  project_class      TEXT NOT NULL,
  fee_type           TEXT,
  base_fee           TEXT,
  coefficient        TEXT,
  workload_share     TEXT,
  assessment_score   TEXT,
  amount             TEXT,
  status             TEXT NOT NULL CHECK (status IN ('settled', 'held', 'not_payable')),
  reason             TEXT NOT NULL,
  PRIMARY KEY (quarter, project_id, partner_id, status)
);
CREATE INDEX presales_results_project ON presales_results (project_id, status);

CREATE TABLE renewal_notices (
  contract_id TEXT PRIMARY KEY,
  partner_id  TEXT NOT NULL,
  owner_email TEXT NOT NULL,
  end_date    TEXT NOT NULL,
  first_as_of TEXT NOT NULL               -- the run day the notice went out
);
