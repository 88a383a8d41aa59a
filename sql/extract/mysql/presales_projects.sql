-- presales projects (附件一), all rows.
-- MySQL/MariaDB: every column is read as canonical text (timestamps and dates formatted, numbers as written).
SELECT project_id,
       name,
       project_class,
       project_type,
       commissioning_unit,
       DATE_FORMAT(applied_on, '%Y-%m-%d') AS applied_on,
       DATE_FORMAT(support_completed_on, '%Y-%m-%d') AS support_completed_on,
       deliverables,
       outcome,
       DATE_FORMAT(outcome_on, '%Y-%m-%d') AS outcome_on,
       CAST(contract_value AS CHAR) AS contract_value
FROM presales_projects
