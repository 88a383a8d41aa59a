-- fee items found by audit: never settled.
SELECT fee_id, reason, found_on FROM audit_exclusions
