-- Periods published before disputes existed (0008) had their finance export written when they
-- were published, and have no dispute windows: they are settled, and `run due` must not settle
-- them a second time (rewriting their finance export and adding a settle line to the audit).
UPDATE period_states SET settled_at = published_at
WHERE state = 'published' AND settled_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM dispute_windows w
                  WHERE w.job = period_states.job AND w.period = period_states.period);
