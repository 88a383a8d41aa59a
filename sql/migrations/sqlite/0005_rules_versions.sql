-- Every rules file a result was computed with, by hash, so that a month keeps its rules when a
-- later rules file (with `effective_from`) takes over from a given month on.
CREATE TABLE rules_versions (
  hash           TEXT PRIMARY KEY,
  effective_from TEXT,                    -- 'YYYY-MM' or NULL (from the beginning)
  text           TEXT NOT NULL,
  first_used_at  TEXT NOT NULL
);
