-- Departmental records entered through workbooks; see the SQLite migration for the why.
CREATE TABLE entered_imports (
  import_id   TEXT COLLATE "C" PRIMARY KEY,
  dataset     TEXT COLLATE "C" NOT NULL,
  period      TEXT COLLATE "C" NOT NULL,
  department  TEXT COLLATE "C" NOT NULL,
  file_name   TEXT NOT NULL,
  sha256      TEXT NOT NULL,
  row_count   BIGINT NOT NULL,
  imported_by TEXT NOT NULL,
  imported_at TEXT NOT NULL
);

CREATE TABLE entered_rows (
  dataset    TEXT COLLATE "C" NOT NULL,
  period     TEXT COLLATE "C" NOT NULL,
  department TEXT COLLATE "C" NOT NULL,
  row_key    TEXT COLLATE "C" NOT NULL,
  import_id  TEXT NOT NULL,
  fields     TEXT NOT NULL,
  PRIMARY KEY (dataset, period, department, row_key)
);

-- A period whose records changed after it was computed cannot be approved until it is rerun.
ALTER TABLE period_states ADD COLUMN records_changed_at TEXT;
