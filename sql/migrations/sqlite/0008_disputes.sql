-- Disputes after publication (rules.md §11). A published period is settled with finance only when
-- every partner's window has closed and no dispute of it is open or accepted and not yet put
-- right; `settled_at` records when its finance export was written.
ALTER TABLE period_states ADD COLUMN settled_at TEXT;

-- One row per dispute. `refs`: the contested row ids, ';'-joined. `state`: open, rejected,
-- accepted (waiting for the reopening, rerun, approval and publication), corrected.
CREATE TABLE disputes (
  dispute_id  TEXT PRIMARY KEY,
  job         TEXT NOT NULL,
  period      TEXT NOT NULL,
  partner_id  TEXT NOT NULL,
  reason      TEXT NOT NULL,
  refs        TEXT NOT NULL,
  state       TEXT NOT NULL CHECK (state IN ('open', 'rejected', 'accepted', 'corrected')),
  opened_by   TEXT NOT NULL,
  opened_at   TEXT NOT NULL,
  resolved_by TEXT,
  resolved_at TEXT,
  note        TEXT
);
CREATE INDEX disputes_period ON disputes (job, period);

-- Each partner's window per published period: the figures it was told, when, and until when it
-- may object. A later publication replaces the row only for a partner whose figures changed
-- (revision + 1, a new window); the others keep theirs.
CREATE TABLE dispute_windows (
  job          TEXT NOT NULL,
  period       TEXT NOT NULL,
  partner_id   TEXT NOT NULL,
  revision     INTEGER NOT NULL,
  published_at TEXT NOT NULL,
  closes_at    TEXT NOT NULL,
  score        TEXT,
  grade        TEXT,
  amount       TEXT,
  PRIMARY KEY (job, period, partner_id)
);
