-- manual points entered for the month :month ('YYYY-MM').
SELECT partner_id, month, indicator, points, scored_by FROM manual_scores WHERE month = :month
