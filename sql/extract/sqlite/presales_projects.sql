-- presales projects (附件一), all rows.
SELECT project_id, name, project_class, project_type, commissioning_unit, applied_on, support_completed_on,
       deliverables, outcome, outcome_on, contract_value
FROM presales_projects
