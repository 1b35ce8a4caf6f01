-- 0013_counter_functions_and_audit.sql: the campaign counters' trigger functions keep the search_path they were created with,
-- and the audit log records pauses and resumes.
--
-- The trigger functions of 0012 name their tables unqualified. A session with another search_path (an operator's psql
-- deleting from a schema-qualified call_jobs) failed in them; pinned to the schema they live in, they count into it
-- whatever the session's search_path.
ALTER FUNCTION campaign_counts_inserted() SET search_path FROM CURRENT;
ALTER FUNCTION campaign_counts_updated() SET search_path FROM CURRENT;
ALTER FUNCTION campaign_counts_deleted() SET search_path FROM CURRENT;
ALTER FUNCTION campaign_counts_truncated() SET search_path FROM CURRENT;

COMMENT ON COLUMN audit_log.action IS 'What was done: opt_out (a revocation); dnc_add and dnc_remove (a tenant''s list changed through POST /v1/dnc and DELETE /v1/dnc/{number}); pause and resume (a tenant or campaign, by dialer pause and resume or the /v1 campaign routes; affected: jobs parked or unparked, source: the reason).';
