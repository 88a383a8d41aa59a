-- The evidence of a month, compact: Arrow IPC parts (zstd), written in the same transaction as
-- the month's results. `timeliness` parts hold every counted ticket and order in the order they
-- were read, 524288 rows a part; the `events` part holds penalties, complaints, surveys,
-- violations and fee items. Every row carries its partner as a code; `explain` reads the parts
-- and keeps one partner's rows. `data_quality` parts hold the month's quarantined and ignored
-- rows (data_quality.csv), which took as much room as all the rest when they were rows. The
-- row-per-ticket table `monthly_evidence` is emptied into `events` parts when a store is opened
-- for writing (store/evidence.rs); `monthly_data_quality` keeps older months' rows until rerun.
CREATE TABLE monthly_evidence_frames (
  month     VARCHAR(7) NOT NULL,
  kind      VARCHAR(16) NOT NULL, -- 'timeliness' | 'events' | 'data_quality'
  part      BIGINT NOT NULL,      -- 0, 1, … within the kind
  row_count BIGINT NOT NULL,
  frame     LONGBLOB NOT NULL,
  PRIMARY KEY (month, kind, part),
  FOREIGN KEY (month) REFERENCES monthly_runs(month)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
