-- Approval, publication and settlement per unit (rules.md §12); see the SQLite migration for the why.
CREATE TABLE unit_states (
  job            TEXT COLLATE "C" NOT NULL,
  period         TEXT COLLATE "C" NOT NULL,
  unit           TEXT COLLATE "C" NOT NULL,
  state          TEXT NOT NULL CHECK (state IN ('approved', 'published')),
  approved_by    TEXT NOT NULL,
  approved_at    TEXT NOT NULL,
  approved_user  TEXT NOT NULL,
  approved_host  TEXT NOT NULL,
  comment        TEXT,
  published_by   TEXT,
  published_at   TEXT,
  published_user TEXT,
  published_host TEXT,
  settled_at     TEXT,
  PRIMARY KEY (job, period, unit)
);

CREATE TABLE settled_items (
  job        TEXT COLLATE "C" NOT NULL,
  period     TEXT COLLATE "C" NOT NULL,
  item       TEXT COLLATE "C" NOT NULL,
  units      TEXT NOT NULL,
  unit       TEXT NOT NULL,
  settled_at TEXT NOT NULL,
  PRIMARY KEY (job, period, item)
);

ALTER TABLE dispute_windows ADD COLUMN unit TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE dispute_windows DROP CONSTRAINT dispute_windows_pkey;
ALTER TABLE dispute_windows ADD PRIMARY KEY (job, period, partner_id, unit);

CREATE TABLE annual_results (
  year            TEXT COLLATE "C" NOT NULL,
  partner_id      TEXT COLLATE "C" NOT NULL,
  partner_name    TEXT NOT NULL,
  months_assessed BIGINT NOT NULL,
  average_score   NUMERIC(14,2),
  annual_grade    TEXT,
  credit_points   NUMERIC(14,2) NOT NULL,
  revenue         NUMERIC(14,2) NOT NULL,
  tier            TEXT NOT NULL,
  departments     TEXT NOT NULL,
  rules_hash      TEXT NOT NULL,
  PRIMARY KEY (year, partner_id)
);

ALTER TABLE monthly_partner_results ADD COLUMN evidence_generation BIGINT NOT NULL DEFAULT 0;
ALTER TABLE monthly_evidence_frames ADD COLUMN generation BIGINT NOT NULL DEFAULT 0;
