-- Departmental records entered through workbooks (interface.md: template/import manual-scores,
-- violations, presales-scores). An import replaces the rows of its (dataset, period, department)
-- in one transaction; each row keeps the contract's columns of its dataset as a JSON object of
-- text values, so that a job reads entered rows exactly as it reads the source's. The audit trail
-- holds each row's old and new value, who, when and the file's sha256.
CREATE TABLE entered_imports (
  import_id   TEXT PRIMARY KEY,
  dataset     TEXT NOT NULL,
  period      TEXT NOT NULL,
  department  TEXT NOT NULL,
  file_name   TEXT NOT NULL,
  sha256      TEXT NOT NULL,
  row_count   INTEGER NOT NULL,
  imported_by TEXT NOT NULL,
  imported_at TEXT NOT NULL
);

CREATE TABLE entered_rows (
  dataset    TEXT NOT NULL,
  period     TEXT NOT NULL,
  department TEXT NOT NULL,
  row_key    TEXT NOT NULL,
  import_id  TEXT NOT NULL,
  fields     TEXT NOT NULL,
  PRIMARY KEY (dataset, period, department, row_key)
);

-- A period whose records changed after it was computed cannot be approved until it is rerun.
ALTER TABLE period_states ADD COLUMN records_changed_at TEXT;
