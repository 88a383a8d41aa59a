-- presales projects (附件一), all rows.
-- PostgreSQL: every column is read as canonical text (timestamps and dates formatted, numbers as written).
SELECT project_id::text AS project_id,
       name::text AS name,
       project_class::text AS project_class,
       project_type::text AS project_type,
       commissioning_unit::text AS commissioning_unit,
       to_char(applied_on, 'YYYY-MM-DD') AS applied_on,
       to_char(support_completed_on, 'YYYY-MM-DD') AS support_completed_on,
       deliverables::text AS deliverables,
       outcome::text AS outcome,
       to_char(outcome_on, 'YYYY-MM-DD') AS outcome_on,
       contract_value::text AS contract_value
FROM presales_projects
