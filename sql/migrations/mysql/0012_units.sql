-- Approval, publication and settlement per unit (rules.md §12); see the SQLite migration for the why.
CREATE TABLE unit_states (
  job            VARCHAR(16) NOT NULL,
  period         VARCHAR(16) NOT NULL,
  unit           VARCHAR(191) NOT NULL,
  state          VARCHAR(16) NOT NULL CHECK (state IN ('approved', 'published')),
  approved_by    VARCHAR(255) NOT NULL,
  approved_at    VARCHAR(32) NOT NULL,
  approved_user  VARCHAR(255) NOT NULL,
  approved_host  VARCHAR(255) NOT NULL,
  comment        TEXT,
  published_by   VARCHAR(255),
  published_at   VARCHAR(32),
  published_user VARCHAR(255),
  published_host VARCHAR(255),
  settled_at     VARCHAR(32),
  PRIMARY KEY (job, period, unit)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE settled_items (
  job        VARCHAR(16) NOT NULL,
  period     VARCHAR(16) NOT NULL,
  item       VARCHAR(400) NOT NULL,
  units      TEXT NOT NULL,
  unit       VARCHAR(191) NOT NULL,
  settled_at VARCHAR(32) NOT NULL,
  PRIMARY KEY (job, period, item)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

ALTER TABLE dispute_windows ADD COLUMN unit VARCHAR(191) NOT NULL DEFAULT '';
ALTER TABLE dispute_windows DROP PRIMARY KEY, ADD PRIMARY KEY (job, period, partner_id, unit);

CREATE TABLE annual_results (
  year            VARCHAR(8) NOT NULL,
  partner_id      VARCHAR(191) NOT NULL,
  partner_name    VARCHAR(500) NOT NULL,
  months_assessed BIGINT NOT NULL,
  average_score   DECIMAL(14,2),
  annual_grade    VARCHAR(16),
  credit_points   DECIMAL(14,2) NOT NULL,
  revenue         DECIMAL(14,2) NOT NULL,
  tier            VARCHAR(16) NOT NULL,
  departments     TEXT NOT NULL,
  rules_hash      VARCHAR(64) NOT NULL,
  PRIMARY KEY (year, partner_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

ALTER TABLE monthly_partner_results ADD COLUMN evidence_generation BIGINT NOT NULL DEFAULT 0;
ALTER TABLE monthly_evidence_frames ADD COLUMN generation BIGINT NOT NULL DEFAULT 0;
