-- Disputes after publication (rules.md §11); see the SQLite migration for the why.
ALTER TABLE period_states ADD COLUMN settled_at TEXT;

CREATE TABLE disputes (
  dispute_id  TEXT COLLATE "C" PRIMARY KEY,
  job         TEXT COLLATE "C" NOT NULL,
  period      TEXT COLLATE "C" NOT NULL,
  partner_id  TEXT COLLATE "C" NOT NULL,
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

CREATE TABLE dispute_windows (
  job          TEXT COLLATE "C" NOT NULL,
  period       TEXT COLLATE "C" NOT NULL,
  partner_id   TEXT COLLATE "C" NOT NULL,
  revision     BIGINT NOT NULL,
  published_at TEXT NOT NULL,
  closes_at    TEXT NOT NULL,
  score        NUMERIC(14,2),
  grade        TEXT,
  amount       NUMERIC(14,2),
  PRIMARY KEY (job, period, partner_id)
);
