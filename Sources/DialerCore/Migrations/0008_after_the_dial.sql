-- 0008_after_the_dial.sql: a job no longer ends when Twilio answers 201. A 201 only means Twilio queued the call; the
-- job waits in 'awaiting_outcome' for the call's final status (a status callback, or the sweeper's lookup) and the
-- campaign policy decides what that outcome makes of it: 'completed' (final), 'retrying' (busy, no answer, a machine,
-- a transient failure, with dials left) or 'failed' (a bad number, a declined call, the caps reached).
-- 'dialed' stays a valid final state for the jobs placed before this migration; no new job enters it.
-- What moves a job into and out of each state is documented once, on JobState (Sources/DialerCore/Store/JobState.swift).

ALTER TABLE call_jobs DROP CONSTRAINT IF EXISTS call_jobs_state_check;
ALTER TABLE call_jobs ADD CONSTRAINT call_jobs_state_check
    CHECK (state IN ('queued', 'deferred', 'retrying', 'paused', 'active', 'in_doubt', 'awaiting_outcome',
                     'completed', 'dialed', 'failed', 'cancelled'));
-- The two unnamed checks of 0001 (finished_at in the final states; a dialed job has its call SID), named and widened.
ALTER TABLE call_jobs DROP CONSTRAINT IF EXISTS call_jobs_check1;
ALTER TABLE call_jobs DROP CONSTRAINT IF EXISTS call_jobs_finished_at;
ALTER TABLE call_jobs ADD CONSTRAINT call_jobs_finished_at
    CHECK ((state IN ('completed', 'dialed', 'failed', 'cancelled')) = (finished_at IS NOT NULL));
ALTER TABLE call_jobs DROP CONSTRAINT IF EXISTS call_jobs_check2;
ALTER TABLE call_jobs DROP CONSTRAINT IF EXISTS call_jobs_call_sid;
ALTER TABLE call_jobs ADD CONSTRAINT call_jobs_call_sid
    CHECK (state NOT IN ('awaiting_outcome', 'completed', 'dialed') OR twilio_call_sid IS NOT NULL);

ALTER TABLE call_jobs ADD COLUMN IF NOT EXISTS last_outcome text;
ALTER TABLE call_jobs DROP CONSTRAINT IF EXISTS call_jobs_last_outcome;
ALTER TABLE call_jobs ADD CONSTRAINT call_jobs_last_outcome
    CHECK (last_outcome IS NULL OR last_outcome IN ('human', 'machine', 'unknown', 'completed', 'busy', 'no_answer', 'failed', 'canceled'));
COMMENT ON COLUMN call_jobs.last_outcome IS
    'How the latest call ended, as the campaign policy reads it: human | unknown (answered, AMD could not tell) | completed (answered, no AMD asked) | machine | busy | no_answer | failed | canceled.';
COMMENT ON COLUMN call_jobs.run_at IS
    'Waiting states: when the job may be claimed. awaiting_outcome: when the sweeper looks the call up if no final callback came (ring timeout + time limit + margin).';

-- The sweeper reads only the jobs waiting for an outcome, oldest deadline first.
CREATE INDEX IF NOT EXISTS call_jobs_awaiting_outcome ON call_jobs (run_at) WHERE state = 'awaiting_outcome';

ALTER TABLE call_attempts DROP CONSTRAINT IF EXISTS call_attempts_kind_check;
ALTER TABLE call_attempts ADD CONSTRAINT call_attempts_kind_check
    CHECK (kind IN ('dial', 'gate', 'recovery', 'release', 'reconcile', 'pace', 'operator', 'outcome'));
COMMENT ON COLUMN call_attempts.outcome IS
    'dial: dialed | retryable | terminal | in_doubt; gate: allow | defer | block; recovery: lease_expired; release: released; reconcile: found | not_found | unreachable; pace: paced; operator: cancelled | retried; outcome: the call''s result (human | unknown | completed | machine | busy | no_answer | failed | canceled), detail says what the policy made of it.';

ALTER TABLE call_events ADD COLUMN IF NOT EXISTS source text NOT NULL DEFAULT 'callback';
ALTER TABLE call_events DROP CONSTRAINT IF EXISTS call_events_source;
ALTER TABLE call_events ADD CONSTRAINT call_events_source CHECK (source IN ('callback', 'lookup'));
COMMENT ON COLUMN call_events.source IS 'callback: a status callback Twilio sent; lookup: the sweeper''s GET of the call when no final callback came (sequence_number 1000000).';

CREATE TABLE IF NOT EXISTS campaign_policies (
    tenant_id   text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    campaign_id text NOT NULL DEFAULT '',
    policy      jsonb NOT NULL CHECK (jsonb_typeof(policy) = 'object'),
    updated_by  text NOT NULL DEFAULT '',
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, campaign_id)
);
COMMENT ON TABLE campaign_policies IS
    'What each call outcome makes of a job, per campaign; campaign_id = '''' holds the tenant''s defaults. Only the fields set are stored: a campaign''s value, else the tenant''s, else the built-in default (CampaignPolicy in Sources/DialerCore/Settle).';

COMMENT ON TABLE call_jobs IS $$One outbound call to place, and its follow-up calls. States: queued, deferred, retrying (waiting
for run_at), paused (parked by an operator), active (leased by a worker), in_doubt (may have reached Twilio; reconciled
before any re-dial), awaiting_outcome (Twilio created the call; waiting for its final status), and the final completed,
failed, cancelled (and dialed, for jobs placed before migration 0008). What moves a job into and out of each state is
documented once, on JobState (Sources/DialerCore/Store/JobState.swift); each transition is one JobOutcome (dial) or
Settlement (after the call) constructor.
Invariants: only the lease holder (lease_owner, same attempt) may record a dial outcome; only the job still waiting for
that call SID takes its settlement; a job is never active without a lease; finished_at is set exactly in the final states.$$;
COMMENT ON COLUMN call_jobs.state IS
    'queued | deferred | retrying (waiting for run_at) | paused | active | in_doubt | awaiting_outcome | completed | failed | cancelled | dialed (final, before 0008); see JobState (Sources/DialerCore/Store/JobState.swift).';

-- call_events and call_outcomes leave with their job by retention, which deletes them by call SID (their primary
-- keys) in the same statement as the job. The foreign keys of 0007 go: each callback paid a key-share lock on its job's
-- row (a write to call_jobs per callback), and their ON DELETE CASCADE had no index on call_events.job_id to use.
ALTER TABLE call_events DROP CONSTRAINT IF EXISTS call_events_job_id_fkey;
ALTER TABLE call_outcomes DROP CONSTRAINT IF EXISTS call_outcomes_job_id_fkey;
COMMENT ON TABLE call_outcomes IS 'One row per ended call, written once, by its final status (a callback, or the sweeper''s lookup): the status, AnsweredBy, SipResponseCode and CallDuration, and the time of each event. A call still going has only call_events rows. status_rank is always 4 (final) since 0008.';

-- The callback tables grow by several rows a call from the first minute of a campaign: analyze them early (as
-- call_jobs is), so the planner probes their keys instead of scanning them (measured with pg_stat_statements: the
-- settlement's facts query took 6 ms a statement on a fresh, unanalyzed call_outcomes, well under 1 ms once analyzed).
ALTER TABLE call_events SET (autovacuum_analyze_scale_factor = 0.02, autovacuum_analyze_threshold = 1000);
ALTER TABLE call_outcomes SET (autovacuum_analyze_scale_factor = 0.02, autovacuum_analyze_threshold = 1000);
ALTER TABLE call_attempts SET (autovacuum_analyze_scale_factor = 0.02, autovacuum_analyze_threshold = 1000);
