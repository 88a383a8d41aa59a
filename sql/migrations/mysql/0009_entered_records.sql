-- Departmental records entered through workbooks; see the SQLite migration for the why.
CREATE TABLE entered_imports (
  import_id   VARCHAR(64) NOT NULL PRIMARY KEY,
  dataset     VARCHAR(32) NOT NULL,
  period      VARCHAR(16) NOT NULL,
  department  VARCHAR(191) NOT NULL,
  file_name   VARCHAR(500) NOT NULL,
  sha256      VARCHAR(64) NOT NULL,
  row_count   BIGINT NOT NULL,
  imported_by VARCHAR(255) NOT NULL,
  imported_at VARCHAR(32) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE entered_rows (
  dataset    VARCHAR(32) NOT NULL,
  period     VARCHAR(16) NOT NULL,
  department VARCHAR(191) NOT NULL,
  row_key    VARCHAR(400) NOT NULL,
  import_id  VARCHAR(64) NOT NULL,
  fields     TEXT NOT NULL,
  PRIMARY KEY (dataset, period, department, row_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A period whose records changed after it was computed cannot be approved until it is rerun.
ALTER TABLE period_states ADD COLUMN records_changed_at VARCHAR(32) NULL;
