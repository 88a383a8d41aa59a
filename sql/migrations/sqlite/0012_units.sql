-- Approval, publication and settlement per unit (rules.md §12): the managing department for months
-- and years, the commissioning unit for quarters. A unit without a row is a draft; `period_states`
-- keeps what is the period's own (computed, records changed since). Each step records the name
-- given, the operating-system user and the host. Stores that approved whole periods are converted
-- to one row per unit when they are next opened for writing.
CREATE TABLE unit_states (
  job            TEXT NOT NULL,
  period         TEXT NOT NULL,
  unit           TEXT NOT NULL,
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

-- Each item (a partner of a month, a project share of a quarter) handed to finance, with the units
-- it belongs to and the settlement that released it: finance receives each unit's rows once, and
-- the period's export is every item settled so far.
CREATE TABLE settled_items (
  job        TEXT NOT NULL,
  period     TEXT NOT NULL,
  item       TEXT NOT NULL,
  units      TEXT NOT NULL,
  unit       TEXT NOT NULL,
  settled_at TEXT NOT NULL,
  PRIMARY KEY (job, period, item)
);

-- A quarter's partner is told per commissioning unit: its windows are per (partner, unit) ('' for
-- months, whose partners are told once every one of their departments approved).
CREATE TABLE dispute_windows_by_unit (
  job          TEXT NOT NULL,
  period       TEXT NOT NULL,
  partner_id   TEXT NOT NULL,
  unit         TEXT NOT NULL DEFAULT '',
  revision     INTEGER NOT NULL,
  published_at TEXT NOT NULL,
  closes_at    TEXT NOT NULL,
  score        TEXT,
  grade        TEXT,
  amount       TEXT,
  PRIMARY KEY (job, period, partner_id, unit)
);
INSERT INTO dispute_windows_by_unit (job, period, partner_id, unit, revision, published_at, closes_at, score, grade, amount)
  SELECT job, period, partner_id, '', revision, published_at, closes_at, score, grade, amount FROM dispute_windows;
DROP TABLE dispute_windows;
ALTER TABLE dispute_windows_by_unit RENAME TO dispute_windows;

-- The annual results (rules.md §10), stored once the year is over, approved per department.
CREATE TABLE annual_results (
  year            TEXT NOT NULL,
  partner_id      TEXT NOT NULL,
  partner_name    TEXT NOT NULL,
  months_assessed INTEGER NOT NULL,
  average_score   TEXT,
  annual_grade    TEXT,
  credit_points   TEXT NOT NULL,
  revenue         TEXT NOT NULL,
  tier            TEXT NOT NULL,
  departments     TEXT NOT NULL,
  rules_hash      TEXT NOT NULL,
  PRIMARY KEY (year, partner_id)
);

-- A rerun while some units are approved keeps their partners' stored rows: each partner row says
-- which generation of the month's evidence parts holds its rows.
ALTER TABLE monthly_partner_results ADD COLUMN evidence_generation INTEGER NOT NULL DEFAULT 0;
ALTER TABLE monthly_evidence_frames ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
