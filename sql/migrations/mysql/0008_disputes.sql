-- Disputes after publication (rules.md §11); see the SQLite migration for the why. The outbox's
-- kinds grow with dispute ids (`ruling:2026-10-P01-1`).
ALTER TABLE period_states ADD COLUMN settled_at VARCHAR(32);
ALTER TABLE outbox MODIFY kind VARCHAR(128) NOT NULL;

CREATE TABLE disputes (
  dispute_id  VARCHAR(191) NOT NULL PRIMARY KEY,
  job         VARCHAR(16) NOT NULL,
  period      VARCHAR(16) NOT NULL,
  partner_id  VARCHAR(191) NOT NULL,
  reason      TEXT NOT NULL,
  refs        TEXT NOT NULL,
  state       VARCHAR(16) NOT NULL CHECK (state IN ('open', 'rejected', 'accepted', 'corrected')),
  opened_by   VARCHAR(255) NOT NULL,
  opened_at   VARCHAR(32) NOT NULL,
  resolved_by VARCHAR(255),
  resolved_at VARCHAR(32),
  note        TEXT,
  KEY disputes_period (job, period)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE dispute_windows (
  job          VARCHAR(16) NOT NULL,
  period       VARCHAR(16) NOT NULL,
  partner_id   VARCHAR(191) NOT NULL,
  revision     BIGINT NOT NULL,
  published_at VARCHAR(32) NOT NULL,
  closes_at    VARCHAR(32) NOT NULL,
  score        DECIMAL(14,2),
  grade        VARCHAR(16),
  amount       DECIMAL(14,2),
  PRIMARY KEY (job, period, partner_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
