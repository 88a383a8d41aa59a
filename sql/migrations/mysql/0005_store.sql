-- The results store on MySQL/MariaDB: the SQLite schema after its migrations 0001-0005, in one step.
-- Money, scores and points are DECIMAL(14,2) (exact). Tables are utf8mb4 with the binary collation
-- so that keys and orderings are bytewise (case- and space-sensitive), as on SQLite and PostgreSQL.
-- Keys are VARCHAR (MySQL cannot index TEXT whole); long free text stays TEXT.

CREATE TABLE monthly_runs (
  month        VARCHAR(7) PRIMARY KEY,
  rules_hash   VARCHAR(64) NOT NULL,
  computed_at  VARCHAR(32) NOT NULL,
  partners     BIGINT NOT NULL,
  on_hold      BIGINT NOT NULL,
  quarantined  BIGINT NOT NULL,
  missing_history_months BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE monthly_partner_results (
  month            VARCHAR(7) NOT NULL,
  partner_id       VARCHAR(191) NOT NULL,
  partner_name     VARCHAR(500) NOT NULL,
  status           VARCHAR(16) NOT NULL CHECK (status IN ('assessed', 'on_hold')),
  effectiveness    DECIMAL(14,2),
  credit_deduction DECIMAL(14,2),
  score            DECIMAL(14,2),
  grade            VARCHAR(16) CHECK (grade IN ('A', 'B', 'C')),
  fees_total       DECIMAL(14,2),
  fees_excluded    DECIMAL(14,2),
  settlement       DECIMAL(14,2),
  c_grades_window  BIGINT NOT NULL,
  flags            TEXT NOT NULL,
  hold_reasons     TEXT NOT NULL,
  departments      TEXT NOT NULL,
  rules_hash       VARCHAR(64) NOT NULL,
  PRIMARY KEY (month, partner_id),
  FOREIGN KEY (month) REFERENCES monthly_runs(month)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE monthly_indicator_results (
  seq        BIGINT NOT NULL AUTO_INCREMENT UNIQUE,
  month      VARCHAR(7) NOT NULL,
  partner_id VARCHAR(191) NOT NULL,
  indicator  VARCHAR(64) NOT NULL,
  measured   DECIMAL(14,2),
  counted    BIGINT NOT NULL,
  points     DECIMAL(14,2) NOT NULL,
  weight     DECIMAL(14,2) NOT NULL,
  PRIMARY KEY (month, partner_id, indicator),
  FOREIGN KEY (month) REFERENCES monthly_runs(month)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE monthly_evidence (
  month       VARCHAR(7) NOT NULL,
  partner_id  VARCHAR(191) NOT NULL,
  indicator   VARCHAR(64) NOT NULL,
  source      VARCHAR(64) NOT NULL,
  row_id      VARCHAR(191) NOT NULL,
  started_at  VARCHAR(19),
  due_at      VARCHAR(19),
  finished_at VARCHAR(19),
  outcome     VARCHAR(64) NOT NULL,
  value       VARCHAR(64),
  detail      TEXT NOT NULL,
  FOREIGN KEY (month) REFERENCES monthly_runs(month)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX monthly_evidence_partner ON monthly_evidence (month, partner_id, indicator);

CREATE TABLE monthly_data_quality (
  month   VARCHAR(7) NOT NULL,
  source  VARCHAR(64) NOT NULL,
  row_id  VARCHAR(191) NOT NULL,
  problem TEXT NOT NULL,
  FOREIGN KEY (month) REFERENCES monthly_runs(month)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX monthly_data_quality_month ON monthly_data_quality (month);

CREATE TABLE quarterly_runs (
  quarter     VARCHAR(7) PRIMARY KEY,
  rules_hash  VARCHAR(64) NOT NULL,
  computed_at VARCHAR(32) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE presales_results (
  quarter            VARCHAR(7) NOT NULL,
  project_id         VARCHAR(191) NOT NULL,
  partner_id         VARCHAR(191) NOT NULL,
  project_name       VARCHAR(500) NOT NULL,
  commissioning_unit VARCHAR(255) NOT NULL,
  project_class      VARCHAR(64) NOT NULL,
  fee_type           VARCHAR(64),
  base_fee           DECIMAL(14,2),
  coefficient        VARCHAR(64),
  workload_share     VARCHAR(64),
  assessment_score   DECIMAL(14,2),
  amount             DECIMAL(14,2),
  status             VARCHAR(16) NOT NULL CHECK (status IN ('settled', 'held', 'not_payable')),
  reason             TEXT NOT NULL,
  PRIMARY KEY (quarter, project_id, partner_id, status),
  FOREIGN KEY (quarter) REFERENCES quarterly_runs(quarter)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX presales_results_project ON presales_results (project_id, status);

CREATE TABLE renewal_notices (
  contract_id VARCHAR(191) PRIMARY KEY,
  partner_id  VARCHAR(191) NOT NULL,
  owner_email VARCHAR(255) NOT NULL,
  end_date    VARCHAR(10) NOT NULL,
  first_as_of VARCHAR(10) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE outbox (
  job        VARCHAR(16) NOT NULL,
  period     VARCHAR(16) NOT NULL,
  recipient  VARCHAR(255) NOT NULL,
  kind       VARCHAR(32) NOT NULL,
  subject    TEXT NOT NULL,
  message_id VARCHAR(255) NOT NULL,
  eml        LONGBLOB NOT NULL,
  status     VARCHAR(16) NOT NULL CHECK (status IN ('queued', 'sent')),
  created_at VARCHAR(32) NOT NULL,
  sent_at    VARCHAR(32),
  transport  VARCHAR(16),
  attempts   BIGINT NOT NULL DEFAULT 0,
  last_error TEXT,
  PRIMARY KEY (job, period, recipient, kind)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX outbox_queued ON outbox (status);

CREATE TABLE period_states (
  job          VARCHAR(16) NOT NULL,
  period       VARCHAR(16) NOT NULL,
  state        VARCHAR(16) NOT NULL CHECK (state IN ('draft', 'approved', 'published')),
  approved_by  VARCHAR(255),
  approved_at  VARCHAR(32),
  comment      TEXT,
  published_at VARCHAR(32),
  PRIMARY KEY (job, period)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE approved_snapshots (
  job     VARCHAR(16) NOT NULL,
  period  VARCHAR(16) NOT NULL,
  item    VARCHAR(400) NOT NULL,
  score   DECIMAL(14,2),
  grade   VARCHAR(16),
  amount  DECIMAL(14,2),
  PRIMARY KEY (job, period, item)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE audit_trail (
  seq    BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  at     VARCHAR(32) NOT NULL,
  actor  VARCHAR(255) NOT NULL,
  action VARCHAR(32) NOT NULL,
  job    VARCHAR(16) NOT NULL,
  period VARCHAR(16) NOT NULL,
  detail TEXT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE rules_versions (
  hash           VARCHAR(64) PRIMARY KEY,
  effective_from VARCHAR(7),
  text           MEDIUMTEXT NOT NULL,
  first_used_at  VARCHAR(32) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
