-- 0011_api_keys.sql: tenants' API keys for the /v1 API of `dialer serve`.
-- A key is `opk_` + 8 characters of its id + `_` + 43 characters of base64url (256 random bits). It is printed once, by
-- `dialer keys create` or `rotate`; only its SHA-256 is stored (a 256-bit random secret needs no slow hash: there is
-- nothing to guess), so a read of this table gives no key away. `prefix` is the visible part (`opk_1a2b3c4d`), for
-- people telling keys apart.
-- A key works while it is not revoked, not past `expires_at`, and, once rotated, not past `grace_ends_at`.
-- Its rate budget is a GCRA per key (`rate_tat`, the theoretical arrival time), kept here so every `dialer serve`
-- process shares it: one row update per request.

CREATE TABLE IF NOT EXISTS api_keys (
    id               text PRIMARY KEY,
    tenant_id        text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    prefix           text NOT NULL,
    secret_sha256    bytea NOT NULL UNIQUE CHECK (octet_length(secret_sha256) = 32),
    scopes           text[] NOT NULL CHECK (scopes <@ ARRAY['calls:write', 'calls:read', 'campaigns:write', 'dnc:write']::text[]
                                            AND cardinality(scopes) > 0),
    numbers          text[],
    expires_at       timestamptz,
    revoked_at       timestamptz,
    revoked_by       text,
    rotated_to       text REFERENCES api_keys (id),
    grace_ends_at    timestamptz,
    rate_per_second  float8 NOT NULL DEFAULT 20 CHECK (rate_per_second > 0 AND rate_per_second <= 10000),
    burst            int NOT NULL DEFAULT 40 CHECK (burst BETWEEN 1 AND 100000),
    rate_tat         timestamptz,
    created_by       text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    last_used_at     timestamptz
);
CREATE INDEX IF NOT EXISTS api_keys_tenant ON api_keys (tenant_id, created_at);
COMMENT ON TABLE api_keys IS 'Tenants'' API keys: SHA-256 of each key, never the key. Usable while revoked_at IS NULL, expires_at is in the future (or NULL) and grace_ends_at (set when the key is rotated) is in the future (or NULL).';
COMMENT ON COLUMN api_keys.numbers IS 'E.164 caller numbers the key may place calls from; NULL: any of the tenant''s.';
COMMENT ON COLUMN api_keys.rate_tat IS 'GCRA theoretical arrival time of the key''s next request: a request is allowed when max(rate_tat, now()) + 1/rate_per_second - now() <= burst/rate_per_second.';

COMMENT ON COLUMN audit_log.action IS 'What was done: opt_out (a revocation); dnc_add and dnc_remove (a tenant''s list changed through POST /v1/dnc and DELETE /v1/dnc/{number}).';
COMMENT ON COLUMN audit_log.actor IS 'Who acted: operator:USER@HOST for the CLI, agent for the AI agent''s POST /v1/opt-outs, api:KEY_ID for a tenant''s API key.';
