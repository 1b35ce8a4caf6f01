-- 0005_lean_indexes.sql: two indexes that every dial paid for and no query needs.
-- A claim and an outcome each update a call_jobs row, and those updates cannot be HOT (state and the lease are indexed),
-- so every index of call_jobs whose predicate the new row meets gets a new entry, twice per attempt; every attempt row
-- likewise enters every index of call_attempts. Measured with pgbench on the claim and record statements (2 cores):
-- about 6,600 jobs/s with these two indexes, 7,700 without.
--   call_jobs_campaign: the operator commands that filter by campaign read waiting jobs through call_jobs_waiting_scope
--     (0004) and failed or finished jobs through call_jobs_finished; nothing is left that uses it.
--   call_attempts_dials: the frequency-cap count reaches a job's few attempt rows through call_attempts_job.
-- Dropping an index takes a brief exclusive lock on its table; no rows are rewritten.

DROP INDEX IF EXISTS call_jobs_campaign;
DROP INDEX IF EXISTS call_attempts_dials;
