-- 0004_operations.sql: operator controls (pause, resume, cancel, retry, prune) and the indexes they need.
-- Pausing a tenant or one of its campaigns records the pause in queue_pauses and parks the scope's waiting jobs in
-- state 'paused', outside the claim's partial index, so a large paused campaign costs the claim nothing. The claim also
-- checks queue_pauses, so a job rescheduled by a dial that was in flight when the pause came is not claimed either.
-- Resume puts parked jobs back in the state they were parked from (paused_from).

ALTER TABLE call_jobs ADD COLUMN IF NOT EXISTS paused_from text;

ALTER TABLE call_jobs DROP CONSTRAINT IF EXISTS call_jobs_state_check;
ALTER TABLE call_jobs ADD CONSTRAINT call_jobs_state_check
    CHECK (state IN ('queued', 'deferred', 'retrying', 'paused', 'active', 'in_doubt', 'dialed', 'failed', 'cancelled'));
ALTER TABLE call_jobs DROP CONSTRAINT IF EXISTS call_jobs_paused_from;
ALTER TABLE call_jobs ADD CONSTRAINT call_jobs_paused_from
    CHECK ((state = 'paused') = (paused_from IS NOT NULL) AND (paused_from IS NULL OR paused_from IN ('queued', 'deferred', 'retrying')));

ALTER TABLE call_attempts DROP CONSTRAINT IF EXISTS call_attempts_kind_check;
ALTER TABLE call_attempts ADD CONSTRAINT call_attempts_kind_check
    CHECK (kind IN ('dial', 'gate', 'recovery', 'release', 'reconcile', 'pace', 'operator'));
COMMENT ON COLUMN call_attempts.outcome IS
    'dial: dialed | retryable | terminal | in_doubt; gate: allow | defer | block; recovery: lease_expired; release: released; reconcile: found | not_found | unreachable; pace: paced; operator: cancelled | retried.';

CREATE TABLE IF NOT EXISTS queue_pauses (
    tenant_id   text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    campaign_id text NOT NULL DEFAULT '',
    reason      text NOT NULL DEFAULT '',
    paused_by   text NOT NULL DEFAULT '',
    paused_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, campaign_id)
);
COMMENT ON TABLE queue_pauses IS 'Paused scopes: a whole tenant (campaign_id = '''') or one of its campaigns. Jobs in a paused scope are not claimed.';

-- Waiting and parked jobs by tenant and campaign: pause, resume and cancel find their scope here instead of scanning
-- the finished rows. Claimed rows leave this index, so it stays as small as the backlog.
CREATE INDEX IF NOT EXISTS call_jobs_waiting_scope ON call_jobs (tenant_id, campaign_id)
    WHERE state IN ('queued', 'deferred', 'retrying', 'paused');
-- Finished jobs by age: retention prunes the oldest in small batches, and retry finds failures in a time range.
CREATE INDEX IF NOT EXISTS call_jobs_finished ON call_jobs (finished_at) WHERE finished_at IS NOT NULL;

COMMENT ON COLUMN call_jobs.paused_from IS 'For a paused job: the state it was parked from and returns to on resume.';
COMMENT ON COLUMN call_jobs.state IS
    'queued | deferred | retrying: waiting for run_at; paused: parked by an operator (tenant or campaign paused); active: leased for dialing; in_doubt: a dial may have reached Twilio, reconciled before any re-dial; dialed | failed | cancelled: final.';
COMMENT ON TABLE call_jobs IS $$One outbound call to place. Life of a job:
  queued   -> active                 claimed by a worker (lease taken, attempt counted)
  deferred -> active                 the gate deferred it earlier and its run_at has come
  retrying -> active                 a retryable failure's backoff has passed
  active   -> dialed                 Twilio answered 201; twilio_call_sid is stored (final)
  active   -> retrying               retryable failure (429, 5xx, network, timeout) with attempts left; run_at = backoff
  active   -> failed                 terminal failure, or retries exhausted (final; last_error says why)
  active   -> deferred               the dial-time gate said "not now" (attempt refunded); run_at = next allowed instant
  active   -> queued                 released at graceful shutdown or by pacing before dialing (attempt refunded)
  active   -> in_doubt               the request may have reached Twilio and the outcome is unknown
  active   -> in_doubt               the lease expired: the worker died (recovered by any worker)
  in_doubt -> dialed | retrying | failed   reconciled with Twilio: the call exists, does not exist (retry), or attempts are spent
  queued | deferred | retrying -> paused   the tenant or campaign was paused (paused_from keeps the state)
  paused   -> queued | deferred | retrying on resume
  queued | deferred | retrying | paused -> cancelled   by an operator (final)
  failed   -> queued                 retried by an operator (a fresh attempt budget; never from dialed)
Invariants: only the lease holder (lease_owner, same attempt) may record an outcome; a job is never active without a lease;
finished_at is set exactly in the final states.$$;
