-- who supported which project, share and 附件二 score.
-- PostgreSQL: every column is read as canonical text (timestamps and dates formatted, numbers as written).
SELECT project_id::text AS project_id,
       partner_id::text AS partner_id,
       workload_share::text AS workload_share,
       assessment_score::text AS assessment_score
FROM presales_supports
