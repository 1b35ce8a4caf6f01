-- 0015_console_activity.sql: what the operator console shows beyond the job counts, kept cheap at any table size.
-- Every process (`dialer run`, `dialer serve`) counts what it does in memory and writes it here every few seconds in one
-- statement (ActivityTally): the console reads these small tables, never a count over call_jobs or call_attempts.
-- A process killed between two writes loses at most those seconds of these counts; the jobs and their attempt rows,
-- the record, lose nothing.

-- Per campaign and minute: how many of each event. Events: dial (Twilio created the call), throttled (a 429),
-- dnc_hit (a do-not-call list refused the call at dial time), held (the gate deferred it: calling hours, a cap, a
-- tenant in review), failed (the job failed at dial time), and the outcome of each settled call: outcome_human,
-- outcome_machine, outcome_busy, outcome_no_answer, outcome_failed, outcome_canceled, outcome_completed. Rows older than
-- 7 days are deleted by housekeeping; campaign_activity_totals keeps each campaign's totals for good.
CREATE TABLE IF NOT EXISTS campaign_activity (
    tenant_id   text NOT NULL,
    campaign_id text NOT NULL,
    minute      timestamptz NOT NULL,
    event       text NOT NULL CHECK (event ~ '^[a-z_]{1,40}$'),
    n           bigint NOT NULL CHECK (n >= 0),
    PRIMARY KEY (tenant_id, campaign_id, minute, event)
);
CREATE INDEX IF NOT EXISTS campaign_activity_minute ON campaign_activity (minute);
COMMENT ON TABLE campaign_activity IS
    'Events per tenant, campaign ('''' for none) and minute, written by each process every few seconds; the console''s rates and chart. Kept 7 days.';

CREATE TABLE IF NOT EXISTS campaign_activity_totals (
    tenant_id   text NOT NULL,
    campaign_id text NOT NULL,
    event       text NOT NULL,
    n           bigint NOT NULL CHECK (n >= 0),
    PRIMARY KEY (tenant_id, campaign_id, event)
);
COMMENT ON TABLE campaign_activity_totals IS 'campaign_activity summed over all time, per tenant, campaign and event.';

-- Per campaign and error code: how many jobs failed with it (at dial time or by their call's outcome) and the latest
-- few of them, so the console groups failures by code with examples without reading call_jobs. code is the contract's
-- code, with Twilio's own code after a colon when there is one (carrier_rejected:21215).
CREATE TABLE IF NOT EXISTS campaign_failures (
    tenant_id   text NOT NULL,
    campaign_id text NOT NULL,
    code        text NOT NULL CHECK (length(code) BETWEEN 1 AND 80),
    jobs        bigint NOT NULL CHECK (jobs >= 0),
    examples    bigint[] NOT NULL,
    message     text NOT NULL DEFAULT '',
    last_at     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, campaign_id, code)
);
COMMENT ON TABLE campaign_failures IS
    'Failed jobs per tenant, campaign and error code, with the ids of the latest 5 (examples) and the latest message.';

-- One row per running process: what it is, whether it is alive (last_seen), and what it holds. Written with the
-- activity; a process that stops cleanly writes state 'stopped' last, so one not seen for 30 seconds in another state
-- died (a crash, a kill, a lost host). Rows not seen for a day are deleted by housekeeping.
CREATE TABLE IF NOT EXISTS dialer_processes (
    id          text PRIMARY KEY,
    role        text NOT NULL CHECK (role IN ('worker', 'serve')),
    host        text NOT NULL,
    pid         int NOT NULL,
    version     text NOT NULL,
    started_at  timestamptz NOT NULL,
    last_seen   timestamptz NOT NULL,
    in_flight   int NOT NULL DEFAULT 0,
    concurrency int NOT NULL DEFAULT 0,
    dialed      bigint NOT NULL DEFAULT 0,
    failed      bigint NOT NULL DEFAULT 0,
    settled     bigint NOT NULL DEFAULT 0,
    state       text NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'stopping', 'stopped'))
);
COMMENT ON TABLE dialer_processes IS
    'Running dialer processes (worker, serve): last_seen every few seconds; the console''s Workers page. Totals count since started_at.';

-- The next deferred job (the next calling window to open) and the next retry due, per campaign, without a scan: the
-- waiting jobs' index by scope gains the state and run_at. Still only waiting and parked rows, so it stays as small as
-- the backlog.
DROP INDEX IF EXISTS call_jobs_waiting_scope;
CREATE INDEX IF NOT EXISTS call_jobs_waiting_scope_due ON call_jobs (tenant_id, campaign_id, state, run_at)
    WHERE state IN ('queued', 'deferred', 'retrying', 'paused');
