-- 0003_exactly_once.sql: in-doubt reconciliation and pacing.
-- A job whose dial may have reached Twilio waits in 'in_doubt' until a reconciler asks Twilio whether the call exists;
-- the reconciler leases it like a dial (lease_owner/lease_expires_at), so the lease columns may now be set on
-- 'in_doubt' rows too. Pacing keeps one GCRA slot per Twilio subaccount, shared by every worker process.

DO $$
DECLARE c record;
BEGIN
    FOR c IN SELECT conname FROM pg_constraint
             WHERE conrelid = 'call_jobs'::regclass AND contype = 'c'
               AND pg_get_constraintdef(oid) LIKE '%lease_owner IS NOT NULL%' AND conname <> 'call_jobs_lease_held'
    LOOP
        EXECUTE format('ALTER TABLE call_jobs DROP CONSTRAINT %I', c.conname);
    END LOOP;
    ALTER TABLE call_jobs ADD CONSTRAINT call_jobs_lease_held CHECK (
        (state <> 'active' OR (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL))
        AND (lease_owner IS NULL OR state IN ('active', 'in_doubt'))
        AND ((lease_owner IS NULL) = (lease_expires_at IS NULL)));
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;

ALTER TABLE call_attempts DROP CONSTRAINT IF EXISTS call_attempts_kind_check;
ALTER TABLE call_attempts ADD CONSTRAINT call_attempts_kind_check CHECK (kind IN ('dial', 'gate', 'recovery', 'release', 'reconcile', 'pace'));

DROP INDEX IF EXISTS call_jobs_in_doubt;
CREATE INDEX IF NOT EXISTS call_jobs_in_doubt_due ON call_jobs (run_at) WHERE state = 'in_doubt';

CREATE TABLE IF NOT EXISTS twilio_pacing (
    subaccount_sid    text PRIMARY KEY,
    calls_per_second  float8 NOT NULL DEFAULT 1 CHECK (calls_per_second > 0),
    tat               timestamptz NOT NULL DEFAULT now(),
    paused_until      timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE twilio_pacing IS $$Calls-per-second limit of each Twilio subaccount, shared by all workers (GCRA).
tat is the theoretical arrival time: the next free dial slot. A worker reserves k slots in one UPDATE, moving tat by
k / calls_per_second, and dials at those instants. Twilio queues calls above the account's CPS for hours instead of
refusing them, so a call sent too fast could ring long after its dial-time checks: pacing keeps every call on time.
paused_until is set from a 429's Retry-After: no slot is granted before it.$$;
COMMENT ON COLUMN twilio_pacing.calls_per_second IS 'The subaccount''s CPS as configured at Twilio (default 1). Edit to match the account.';

COMMENT ON COLUMN call_jobs.state IS
    'queued | deferred | retrying: waiting for run_at; active: leased for dialing; in_doubt: a dial may have reached Twilio, reconciled (leased by a reconciler) before any re-dial; dialed | failed | cancelled: final.';
