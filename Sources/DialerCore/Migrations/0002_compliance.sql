-- 0002_compliance.sql: what the dial-time gate needs beyond 0001: a tenant's own calling window, and indexes that keep
-- the do-not-call and frequency-cap checks index probes inside the claim statement.

ALTER TABLE tenants ADD COLUMN IF NOT EXISTS call_window_start time;
ALTER TABLE tenants ADD COLUMN IF NOT EXISTS call_window_end time;
DO $$ BEGIN
    ALTER TABLE tenants ADD CONSTRAINT tenants_call_window_valid
        CHECK ((call_window_start IS NULL) = (call_window_end IS NULL) AND (call_window_start IS NULL OR call_window_start < call_window_end));
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
COMMENT ON COLUMN tenants.call_window_start IS
    'Optional tenant window in the callee''s local time; it can only narrow the legal window (federal, state, CRTC), never widen it.';

-- Frequency caps (FL, OK, MD: 3 calls per person per 24 h) count the tenant's recent dials to one destination.
CREATE INDEX IF NOT EXISTS call_jobs_tenant_destination ON call_jobs (tenant_id, destination);
CREATE INDEX IF NOT EXISTS call_attempts_dials ON call_attempts (job_id, recorded_at) WHERE kind = 'dial' AND (outcome = 'dialed' OR possibly_dialed);

COMMENT ON TABLE dnc_global IS
    'Global do-not-call list (national registry and platform-wide opt-outs): NANP numbers as bigint with the country code (+1 415 555 1234 -> 14155551234). Checked in the claim statement by primary-key probe.';
COMMENT ON TABLE dnc_tenant IS 'A tenant''s own do-not-call list; checked only for that tenant''s calls.';
