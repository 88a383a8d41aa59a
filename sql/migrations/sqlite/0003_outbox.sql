-- The outbox: each message is recorded (with its full text) before it is sent and marked sent once
-- the server (or the outbox folder) has it, so a message goes out at most once per
-- (job, period, recipient, kind), and a message that could not be sent waits for the next run.
CREATE TABLE outbox (
  job        TEXT NOT NULL,
  period     TEXT NOT NULL,
  recipient  TEXT NOT NULL,
  kind       TEXT NOT NULL,
  subject    TEXT NOT NULL,
  message_id TEXT NOT NULL,
  eml        BLOB NOT NULL,
  status     TEXT NOT NULL CHECK (status IN ('queued', 'sent')),
  created_at TEXT NOT NULL,
  sent_at    TEXT,
  transport  TEXT,                        -- 'smtp' or 'file'
  attempts   INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  PRIMARY KEY (job, period, recipient, kind)
);
CREATE INDEX outbox_queued ON outbox (status);
