-- Approval before publication (第二十一条, 第二十六条): each job period is a draft when computed,
-- approved by a named person (results frozen), then published. Reopening is recorded; the last
-- approved figures are kept so a reapproval shows what changed. Every such act is in the audit trail.
CREATE TABLE period_states (
  job          TEXT NOT NULL,
  period       TEXT NOT NULL,
  state        TEXT NOT NULL CHECK (state IN ('draft', 'approved', 'published')),
  approved_by  TEXT,
  approved_at  TEXT,
  comment      TEXT,
  published_at TEXT,
  PRIMARY KEY (job, period)
);

CREATE TABLE approved_snapshots (
  job     TEXT NOT NULL,
  period  TEXT NOT NULL,
  item    TEXT NOT NULL,                 -- partner (monthly) or project/partner (quarterly)
  score   TEXT,
  grade   TEXT,
  amount  TEXT,
  PRIMARY KEY (job, period, item)
);

CREATE TABLE audit_trail (
  at     TEXT NOT NULL,
  actor  TEXT NOT NULL,
  action TEXT NOT NULL,                  -- approve, reopen, publish, resend
  job    TEXT NOT NULL,
  period TEXT NOT NULL,
  detail TEXT NOT NULL
);
