-- 0012_api_idempotency_and_campaign_counts.sql: stored responses for the /v1 API's Idempotency-Key, and each campaign's
-- job counts kept up to date by triggers, so `GET /v1/campaigns/{id}` never counts the live table.

-- One row per (tenant, Idempotency-Key) sent on a /v1 POST: the request's SHA-256 (method, path and body), and, once the
-- request has been answered, its status and body. The same key and request get the stored answer back; the same key
-- with another request is 409 idempotency_conflict. `status IS NULL`: the request is being worked on (a second one
-- with the key is 409 until it ends). A 5xx deletes the row, so a retry does the work again; a row left behind by a
-- process that died mid-request is taken over by a retry after two minutes. Rows are kept 24 hours.
CREATE TABLE IF NOT EXISTS api_idempotency (
    tenant_id       text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    request_sha256  bytea NOT NULL CHECK (octet_length(request_sha256) = 32),
    key_id          text NOT NULL,
    status          int CHECK (status BETWEEN 100 AND 499),
    response        text,
    started_at      timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, idempotency_key),
    CHECK ((status IS NULL) = (response IS NULL))
);
CREATE INDEX IF NOT EXISTS api_idempotency_created ON api_idempotency (created_at);
COMMENT ON TABLE api_idempotency IS
    'Idempotency-Key of /v1 POSTs: the request hash and, once answered (status < 500), the stored answer; kept 24 hours.';

-- Job counts per (tenant, campaign, state, last outcome): campaign_counts holds the folded totals, and
-- campaign_count_deltas the changes since, appended by statement-level triggers on call_jobs (one row per group a
-- statement changed, never an update of a shared row, so workers never queue behind one another's counters). A
-- reader sums both; `campaign_counts_fold()` moves the deltas into the totals (the housekeeping of `dialer run` and
-- `dialer serve`, every few seconds, under an advisory lock). A job without a campaign counts under campaign ''.
CREATE TABLE IF NOT EXISTS campaign_counts (
    tenant_id   text NOT NULL,
    campaign_id text NOT NULL,
    state       text NOT NULL,
    outcome     text NOT NULL,
    jobs        bigint NOT NULL,
    PRIMARY KEY (tenant_id, campaign_id, state, outcome)
);
CREATE TABLE IF NOT EXISTS campaign_count_deltas (
    tenant_id   text NOT NULL,
    campaign_id text NOT NULL,
    state       text NOT NULL,
    outcome     text NOT NULL,
    jobs        bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS campaign_count_deltas_scope ON campaign_count_deltas (tenant_id, campaign_id);
ALTER TABLE campaign_count_deltas SET (autovacuum_vacuum_scale_factor = 0.0, autovacuum_vacuum_threshold = 10000);
COMMENT ON TABLE campaign_counts IS
    'Jobs per tenant, campaign, state and last outcome (outcome '''' before any call ended), folded from campaign_count_deltas; a reader adds the deltas.';

CREATE OR REPLACE FUNCTION campaign_counts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO campaign_count_deltas (tenant_id, campaign_id, state, outcome, jobs)
    SELECT tenant_id, coalesce(campaign_id, ''), state, coalesce(last_outcome, ''), count(*) FROM new_rows GROUP BY 1, 2, 3, 4;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION campaign_counts_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO campaign_count_deltas (tenant_id, campaign_id, state, outcome, jobs)
    SELECT tenant_id, campaign_id, state, outcome, sum(jobs) FROM (
        SELECT o.tenant_id, coalesce(o.campaign_id, '') AS campaign_id, o.state, coalesce(o.last_outcome, '') AS outcome, -1 AS jobs
        FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE (o.tenant_id, o.campaign_id, o.state, o.last_outcome) IS DISTINCT FROM (n.tenant_id, n.campaign_id, n.state, n.last_outcome)
        UNION ALL
        SELECT n.tenant_id, coalesce(n.campaign_id, ''), n.state, coalesce(n.last_outcome, ''), 1
        FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE (o.tenant_id, o.campaign_id, o.state, o.last_outcome) IS DISTINCT FROM (n.tenant_id, n.campaign_id, n.state, n.last_outcome)
    ) changed
    GROUP BY 1, 2, 3, 4 HAVING sum(jobs) <> 0;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION campaign_counts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO campaign_count_deltas (tenant_id, campaign_id, state, outcome, jobs)
    SELECT tenant_id, coalesce(campaign_id, ''), state, coalesce(last_outcome, ''), -count(*) FROM old_rows GROUP BY 1, 2, 3, 4;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION campaign_counts_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM campaign_count_deltas;
    DELETE FROM campaign_counts;
    RETURN NULL;
END $$;

-- Folds the deltas into the totals in one statement; the caller holds the fold's advisory lock (two folds at once would
-- update the same totals in different orders). Rows inserted after this statement's snapshot wait for the next fold.
CREATE OR REPLACE FUNCTION campaign_counts_fold() RETURNS bigint LANGUAGE sql AS $$
    WITH moved AS (
        DELETE FROM campaign_count_deltas RETURNING tenant_id, campaign_id, state, outcome, jobs
    ), summed AS (
        SELECT tenant_id, campaign_id, state, outcome, sum(jobs)::bigint AS jobs, count(*) AS deltas FROM moved GROUP BY 1, 2, 3, 4
    ), folded AS (
        INSERT INTO campaign_counts (tenant_id, campaign_id, state, outcome, jobs)
        SELECT tenant_id, campaign_id, state, outcome, jobs FROM summed ORDER BY 1, 2, 3, 4
        ON CONFLICT (tenant_id, campaign_id, state, outcome) DO UPDATE SET jobs = campaign_counts.jobs + EXCLUDED.jobs
        RETURNING 1
    )
    SELECT coalesce(sum(deltas), 0)::bigint FROM summed;
$$;

-- The triggers and the first totals are made while no job changes, so no change is counted twice or missed.
LOCK TABLE call_jobs IN SHARE ROW EXCLUSIVE MODE;
DROP TRIGGER IF EXISTS call_jobs_counts_inserted ON call_jobs;
CREATE TRIGGER call_jobs_counts_inserted AFTER INSERT ON call_jobs
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION campaign_counts_inserted();
DROP TRIGGER IF EXISTS call_jobs_counts_updated ON call_jobs;
CREATE TRIGGER call_jobs_counts_updated AFTER UPDATE ON call_jobs
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION campaign_counts_updated();
DROP TRIGGER IF EXISTS call_jobs_counts_deleted ON call_jobs;
CREATE TRIGGER call_jobs_counts_deleted AFTER DELETE ON call_jobs
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION campaign_counts_deleted();
DROP TRIGGER IF EXISTS call_jobs_counts_truncated ON call_jobs;
CREATE TRIGGER call_jobs_counts_truncated AFTER TRUNCATE ON call_jobs FOR EACH STATEMENT EXECUTE FUNCTION campaign_counts_truncated();
DELETE FROM campaign_count_deltas;
DELETE FROM campaign_counts;
INSERT INTO campaign_counts (tenant_id, campaign_id, state, outcome, jobs)
SELECT tenant_id, coalesce(campaign_id, ''), state, coalesce(last_outcome, ''), count(*) FROM call_jobs GROUP BY 1, 2, 3, 4;
