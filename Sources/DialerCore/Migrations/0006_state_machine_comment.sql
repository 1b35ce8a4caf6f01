-- 0006_state_machine_comment.sql: the job state machine is written once, on JobState
-- (Sources/DialerCore/Store/JobState.swift), with what moves a job into and out of each state; the table comment points
-- there instead of keeping a third copy (0001 and 0004 restate it, and applied migrations are immutable).
COMMENT ON TABLE call_jobs IS $$One outbound call to place. States: queued, deferred, retrying (waiting for run_at), paused
(parked by an operator), active (leased by a worker), in_doubt (may have reached Twilio; reconciled before any re-dial),
and the final dialed, failed, cancelled. What moves a job into and out of each state is documented once, on JobState
(Sources/DialerCore/Store/JobState.swift); each transition a worker applies is one JobOutcome constructor.
Invariants: only the lease holder (lease_owner, same attempt) may record an outcome; a job is never active without a lease;
finished_at is set exactly in the final states.$$;
COMMENT ON COLUMN call_jobs.state IS
    'queued | deferred | retrying (waiting for run_at) | paused | active | in_doubt | dialed | failed | cancelled (final); what moves a job into and out of each: JobState (Sources/DialerCore/Store/JobState.swift).';
