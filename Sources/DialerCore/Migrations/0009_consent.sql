-- 0009_consent.sql: each job's purpose and consent evidence, and the audit log of operator and agent actions.
-- FCC 24-17 (2024): an AI-generated voice is an "artificial voice" under the TCPA, so every call needs the callee's prior
-- express consent, and a telemarketing call prior express written consent (47 CFR 64.1200(a)(2), (a)(3)). Enqueue refuses
-- a job without it and the dial-time gate re-checks it on every claim (consent_required; the rule is ConsentRule in
-- Sources/DialerCore/Gate/Consent.swift).
-- Rows that exist when this runs get purpose 'informational' and no consent evidence (consent_type NULL): the gate
-- refuses to dial them (consent_required) until an operator backfills their evidence. That is deliberate: a job whose
-- consent nobody recorded must not ring anyone.
-- Revocation (FCC 24-24): `dialer opt-out` and `POST /v1/opt-outs` put the number on the tenant's do-not-call list,
-- cancel its waiting jobs and write an audit_log row, in one transaction.

ALTER TABLE call_jobs ADD COLUMN IF NOT EXISTS purpose text NOT NULL DEFAULT 'informational';
ALTER TABLE call_jobs ADD COLUMN IF NOT EXISTS consent_type text;
ALTER TABLE call_jobs ADD COLUMN IF NOT EXISTS consent_at timestamptz;
ALTER TABLE call_jobs ADD COLUMN IF NOT EXISTS consent_source text;
-- Named constraints added apart from the columns, so a second run finds them and changes nothing.
DO $$ BEGIN
    ALTER TABLE call_jobs ADD CONSTRAINT call_jobs_purpose_check CHECK (purpose IN ('informational', 'telemarketing'));
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
DO $$ BEGIN
    ALTER TABLE call_jobs ADD CONSTRAINT call_jobs_consent_type_check CHECK (consent_type IN ('prior_express_written', 'prior_express'));
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
DO $$ BEGIN
    ALTER TABLE call_jobs ADD CONSTRAINT call_jobs_consent_source_length CHECK (char_length(consent_source) <= 500);
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;

COMMENT ON COLUMN call_jobs.purpose IS
    'informational | telemarketing. With an AI voice (an artificial voice, FCC 24-17) an informational call needs prior express consent, a telemarketing call prior express written consent; checked at enqueue and by the gate at every dial (consent_required).';
COMMENT ON COLUMN call_jobs.consent_type IS
    'The callee''s consent: prior_express_written (PEWC, 47 CFR 64.1200(f)(9)) or prior_express (PEC). NULL: no consent evidence, and the gate never dials the job (consent_required). Rows enqueued before 0009 are NULL until an operator backfills them.';
COMMENT ON COLUMN call_jobs.consent_at IS 'When the consent was given (never after enqueue): the evidence, with consent_source.';
COMMENT ON COLUMN call_jobs.consent_source IS 'Where the consent is recorded (a form, a recording, a CRM id), free text of at most 500 characters.';

COMMENT ON COLUMN call_attempts.detail IS
    'Facts for people, by kind: gate and dial rows keep the gate''s rule and audit (local times, the list that matched, purpose, consent_type, consent_rule); an operator cancel for an opt-out says {"reason": "opted_out", "source": ...}.';

CREATE TABLE IF NOT EXISTS audit_log (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    actor        text NOT NULL,
    action       text NOT NULL,
    tenant_id    text,
    campaign_id  text,
    scope        jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(scope) = 'object'),
    affected     int NOT NULL DEFAULT 0 CHECK (affected >= 0),
    source       text
);
CREATE INDEX IF NOT EXISTS audit_log_tenant_at ON audit_log (tenant_id, at);
COMMENT ON TABLE audit_log IS $$Append-only record of actions taken on people's calls by operators and agents, read by the operator console.
One row per action: opt_out (a revocation: the number went on the tenant's DNC list and its waiting jobs were cancelled).
No foreign keys and no retention: the record outlives the tenant, its jobs and DIALER_RETENTION_DAYS.$$;
COMMENT ON COLUMN audit_log.actor IS 'Who acted: operator:USER@HOST for the CLI, agent for the AI agent''s POST /v1/opt-outs.';
COMMENT ON COLUMN audit_log.action IS 'What was done: opt_out.';
COMMENT ON COLUMN audit_log.scope IS 'What the action applied to, as JSON: for opt_out the destination (E.164), whether it was already on the list, and the call SID the agent reported.';
COMMENT ON COLUMN audit_log.affected IS 'Jobs the action changed (opt_out: waiting jobs cancelled).';
COMMENT ON COLUMN audit_log.source IS 'Where the request came from, as given (a call, an email, a letter): the revocation''s evidence.';
