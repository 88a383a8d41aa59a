-- who supported which project, share and 附件二 score.
SELECT project_id, partner_id, workload_share, assessment_score FROM presales_supports
