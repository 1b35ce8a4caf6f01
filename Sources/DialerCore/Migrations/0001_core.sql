-- 0001_core.sql: tenants, caller numbers, the call-job queue, the attempt log, do-not-call lists.
-- Applied by `dialer migrate` inside one transaction under an advisory lock, or by hand:
--   psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -1 -f sql/0001_core.sql
-- Every statement is idempotent (IF NOT EXISTS / OR REPLACE), so a re-run changes nothing.

CREATE TABLE IF NOT EXISTS tenants (
    id                   text PRIMARY KEY,
    name                 text NOT NULL DEFAULT '',
    verification_status  text NOT NULL DEFAULT 'pending_review'
                         CHECK (verification_status IN ('pending_review', 'approved', 'rejected')),
    twilio_subaccount_sid text CHECK (twilio_subaccount_sid ~ '^AC[0-9a-fA-F]{32}$'),
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE tenants IS 'OpenPhn customers. Calls go out through the tenant''s own Twilio subaccount.';
COMMENT ON COLUMN tenants.verification_status IS
    'pending_review: calls are deferred at dial time (no attempt spent); approved: calls may be placed; rejected: calls fail with verification_pending.';
COMMENT ON COLUMN tenants.twilio_subaccount_sid IS 'AC... of the tenant''s subaccount; NULL means no subaccount is configured (no_active_number).';

CREATE TABLE IF NOT EXISTS phone_numbers (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    e164        text NOT NULL CHECK (e164 ~ '^\+[1-9][0-9]{7,14}$'),
    active      boolean NOT NULL DEFAULT true,
    selected    boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, e164)
);
CREATE UNIQUE INDEX IF NOT EXISTS phone_numbers_one_selected ON phone_numbers (tenant_id) WHERE selected;
COMMENT ON TABLE phone_numbers IS 'A tenant''s caller numbers (Twilio numbers or verified caller IDs). At most one is selected per tenant.';
COMMENT ON COLUMN phone_numbers.selected IS 'The number used as From when a job names none. Must also be active to be dialed from.';

CREATE TABLE IF NOT EXISTS call_jobs (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id         text NOT NULL REFERENCES tenants (id),
    caller_number_id  bigint NOT NULL REFERENCES phone_numbers (id),
    destination       text NOT NULL CHECK (destination ~ '^\+[1-9][0-9]{7,14}$'),
    campaign_id       text,
    objective         text NOT NULL,
    outcome_schema    jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(outcome_schema) = 'object'),
    priority          smallint NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 9),
    run_at            timestamptz NOT NULL DEFAULT now(),
    state             text NOT NULL DEFAULT 'queued'
                      CHECK (state IN ('queued', 'deferred', 'retrying', 'active', 'in_doubt', 'dialed', 'failed', 'cancelled')),
    attempt           integer NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    max_attempts      integer NOT NULL DEFAULT 4 CHECK (max_attempts BETWEEN 1 AND 100),
    lease_owner       text,
    lease_expires_at  timestamptz,
    idempotency_key   text,
    request_hash      bytea NOT NULL,
    twilio_call_sid   text,
    last_error        jsonb CHECK (last_error IS NULL OR (last_error ? 'error' AND last_error ? 'message')),
    expires_at        timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    attempted_at      timestamptz,
    finished_at       timestamptz,
    CHECK ((state = 'active') = (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL)),
    CHECK ((state IN ('dialed', 'failed', 'cancelled')) = (finished_at IS NOT NULL)),
    CHECK (state <> 'dialed' OR twilio_call_sid IS NOT NULL)
);

-- The claim reads only this index: it holds the waiting rows alone, so finished rows (the bulk of the table) never
-- slow it down, and its order is the claim's order.
CREATE INDEX IF NOT EXISTS call_jobs_claimable ON call_jobs (priority, run_at, id)
    WHERE state IN ('queued', 'deferred', 'retrying');
-- Lease recovery looks only at active rows.
CREATE INDEX IF NOT EXISTS call_jobs_active_lease ON call_jobs (lease_expires_at) WHERE state = 'active';
CREATE UNIQUE INDEX IF NOT EXISTS call_jobs_idempotency ON call_jobs (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS call_jobs_campaign ON call_jobs (tenant_id, campaign_id) WHERE campaign_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS call_jobs_in_doubt ON call_jobs (updated_at) WHERE state = 'in_doubt';

-- The queue table churns: vacuum it early so dead tuples do not pile up in front of the claim.
ALTER TABLE call_jobs SET (autovacuum_vacuum_scale_factor = 0.0, autovacuum_vacuum_threshold = 1000,
                           autovacuum_analyze_scale_factor = 0.02, fillfactor = 80);

COMMENT ON TABLE call_jobs IS $$One outbound call to place. Life of a job:
  queued   -> active                 claimed by a worker (lease taken, attempt counted)
  deferred -> active                 the gate deferred it earlier and its run_at has come
  retrying -> active                 a retryable failure's backoff has passed
  active   -> dialed                 Twilio answered 201; twilio_call_sid is stored (final)
  active   -> retrying               retryable failure (429, 5xx, network, timeout) with attempts left; run_at = backoff
  active   -> failed                 terminal failure, or retries exhausted (final; last_error says why)
  active   -> deferred               the dial-time gate said "not now" (attempt refunded); run_at = next allowed instant
  active   -> queued                 released at graceful shutdown before dialing (attempt refunded)
  active   -> in_doubt               the request may have reached Twilio and the outcome is unknown (reconciled before any re-dial)
  active   -> retrying | failed      the lease expired: the worker died; recovered by any worker
  queued | deferred | retrying -> cancelled   by an operator (final)
Invariants: only the lease holder (lease_owner, same attempt) may record an outcome; a job is never active without a lease;
finished_at is set exactly in the final states.$$;
COMMENT ON COLUMN call_jobs.state IS 'queued | deferred | retrying: waiting for run_at; active: leased; in_doubt: outcome unknown; dialed | failed | cancelled: final.';
COMMENT ON COLUMN call_jobs.attempt IS 'Dial attempts spent so far. Counted at claim; refunded when the gate defers or the job is released unstarted.';
COMMENT ON COLUMN call_jobs.priority IS '0 dials first, 9 last; equal priorities dial in run_at order.';
COMMENT ON COLUMN call_jobs.lease_owner IS 'Worker id holding the job while active. Outcomes are written only WHERE lease_owner and attempt still match.';
COMMENT ON COLUMN call_jobs.request_hash IS 'SHA-256 of the canonical enqueue body: same idempotency key + same hash returns the existing job; another hash is a 409.';
COMMENT ON COLUMN call_jobs.last_error IS 'OpenPhn error object {error, message, details} of the latest failure; cleared when the job is dialed (call_attempts keeps every error).';
COMMENT ON COLUMN call_jobs.expires_at IS 'A job not dialed by then fails instead of dialing late.';

CREATE TABLE IF NOT EXISTS call_attempts (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id          bigint NOT NULL REFERENCES call_jobs (id) ON DELETE CASCADE,
    attempt         integer NOT NULL,
    worker          text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('dial', 'gate', 'recovery', 'release')),
    outcome         text NOT NULL,
    http_status     integer,
    twilio_code     integer,
    twilio_call_sid text,
    possibly_dialed boolean NOT NULL DEFAULT false,
    error           jsonb,
    detail          jsonb,
    claimed_at      timestamptz,
    recorded_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS call_attempts_job ON call_attempts (job_id, id);
COMMENT ON TABLE call_attempts IS 'Append-only log: one row per dial attempt, per gate decision, per lease recovery and per release.';
COMMENT ON COLUMN call_attempts.outcome IS 'dial: dialed | retryable | terminal; gate: allow | defer | block; recovery: lease_expired; release: released.';
COMMENT ON COLUMN call_attempts.possibly_dialed IS 'The request may have reached Twilio (5xx, timeout, reset after sending, worker death): a call may exist.';

CREATE TABLE IF NOT EXISTS dnc_global (
    number     bigint PRIMARY KEY,
    added_at   timestamptz NOT NULL DEFAULT now(),
    source     text NOT NULL DEFAULT 'manual'
);
COMMENT ON TABLE dnc_global IS 'National and platform do-not-call list: 10/11-digit NANP numbers as bigint (+1 415 555 1234 -> 14155551234).';

CREATE TABLE IF NOT EXISTS dnc_tenant (
    tenant_id  text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    number     bigint NOT NULL,
    added_at   timestamptz NOT NULL DEFAULT now(),
    source     text NOT NULL DEFAULT 'manual',
    PRIMARY KEY (tenant_id, number)
);
COMMENT ON TABLE dnc_tenant IS 'A tenant''s own do-not-call list; never consulted for another tenant''s calls.';

-- Enqueue sends NOTIFY call_jobs_ready in its transaction; workers LISTEN as a wake-up hint and still poll.
