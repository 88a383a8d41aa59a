-- who supported which project, share and 附件二 score.
-- MySQL/MariaDB: every column is read as canonical text (timestamps and dates formatted, numbers as written).
SELECT project_id,
       partner_id,
       CAST(workload_share AS CHAR) AS workload_share,
       CAST(assessment_score AS CHAR) AS assessment_score
FROM presales_supports
