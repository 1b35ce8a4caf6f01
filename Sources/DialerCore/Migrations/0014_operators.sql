-- 0014_operators.sql: the operator console's accounts and sessions (`dialer operators add`, `/console` of `dialer serve`).
-- An operator is a person who signs in to the console. Role: viewer (sees), operator (also pauses, resumes, cancels,
-- retries), admin (also sees whole phone numbers). tenant_id set: the operator sees and acts on that tenant only; NULL:
-- every tenant (the platform's own staff).
-- Passwords are stored as scrypt PHC strings (`$scrypt$ln=17,r=8,p=1$SALT$HASH`), never in clear; the parameters travel
-- with each hash, so raising them later re-hashes at the next sign-in. failed_signins and locked_until throttle guessing:
-- after 5 failures in a row, the account refuses sign-ins for 15 minutes (a success resets the count).
-- A session is a random 256-bit token in an HttpOnly cookie; only its SHA-256 is stored (a read of this table signs no
-- one in). Each session has its own CSRF token, sent back in every form. Sessions end at logout (the row is deleted), at
-- idle_expires_at (30 minutes without a request) or at expires_at (12 hours after sign-in), whichever comes first.

CREATE TABLE IF NOT EXISTS operators (
    id               text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9._@-]{1,64}$'),
    tenant_id        text REFERENCES tenants (id) ON DELETE CASCADE,
    role             text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    password_hash    text NOT NULL CHECK (password_hash LIKE '$scrypt$%'),
    failed_signins   int NOT NULL DEFAULT 0 CHECK (failed_signins >= 0),
    locked_until     timestamptz,
    disabled_at      timestamptz,
    created_by       text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    last_signin_at   timestamptz
);
COMMENT ON TABLE operators IS 'People who sign in to the operator console. role: viewer < operator < admin. tenant_id NULL: every tenant. password_hash: scrypt PHC string.';

CREATE TABLE IF NOT EXISTS console_sessions (
    token_sha256     bytea PRIMARY KEY CHECK (octet_length(token_sha256) = 32),
    operator_id      text NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    csrf_token       text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    expires_at       timestamptz NOT NULL,
    idle_expires_at  timestamptz NOT NULL,
    user_agent       text
);
CREATE INDEX IF NOT EXISTS console_sessions_operator ON console_sessions (operator_id);
CREATE INDEX IF NOT EXISTS console_sessions_expiry ON console_sessions (expires_at);
COMMENT ON TABLE console_sessions IS 'Signed-in console sessions: the SHA-256 of each session cookie, never the cookie. Valid while now() < least(expires_at, idle_expires_at); deleted at logout.';

COMMENT ON COLUMN audit_log.action IS 'What was done: opt_out (a revocation); dnc_add and dnc_remove (a tenant''s list changed through POST /v1/dnc and DELETE /v1/dnc/{number}); pause and resume; cancel and retry (from the console); signin and signout (a console session began or ended).';
COMMENT ON COLUMN audit_log.actor IS 'Who acted: operator:USER@HOST for the CLI, console:OPERATOR_ID for the operator console, agent for the AI agent''s POST /v1/opt-outs, api:KEY_ID for a tenant''s API key.';
