-- 0007_call_events.sql: Twilio's status callbacks, stored as they arrive (dialer serve, POST of DIALER_STATUS_CALLBACK_URL).
-- call_events keeps every callback once: Twilio retries a callback and delivers them out of order, so the key is
-- (call_sid, sequence_number) and a repeat changes nothing. call_outcomes keeps one row per call, the furthest status
-- seen: a late 'ringing' after 'completed' leaves it alone. Both follow their job out under retention (ON DELETE CASCADE).

CREATE TABLE IF NOT EXISTS call_events (
    call_sid          text NOT NULL,
    sequence_number   int NOT NULL CHECK (sequence_number >= 0),
    job_id            bigint REFERENCES call_jobs (id) ON DELETE CASCADE,
    attempt           int,
    call_status       text NOT NULL,
    answered_by       text,
    sip_response_code int,
    call_duration     int,
    event_at          timestamptz,
    received_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (call_sid, sequence_number)
);
COMMENT ON TABLE call_events IS 'Every status callback of a call, once: (call_sid, sequence_number) is Twilio''s identity of a callback, so a retried one is not stored twice. job_id is NULL when the callback named no job of this database.';
COMMENT ON COLUMN call_events.event_at IS 'Twilio''s Timestamp of the event (when it fired), not when it arrived: callbacks arrive out of order.';

CREATE TABLE IF NOT EXISTS call_outcomes (
    call_sid          text PRIMARY KEY,
    job_id            bigint REFERENCES call_jobs (id) ON DELETE CASCADE,
    attempt           int,
    call_status       text NOT NULL,
    status_rank       smallint NOT NULL,
    answered_by       text,
    sip_response_code int,
    call_duration     int,
    initiated_at      timestamptz,
    ringing_at        timestamptz,
    answered_at       timestamptz,
    ended_at          timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS call_outcomes_job ON call_outcomes (job_id);
COMMENT ON TABLE call_outcomes IS 'One row per call: the furthest status its callbacks reached (status_rank: queued 0, initiated 1, ringing 2, in-progress 3, final 4), never moved backwards; the time of each event; AnsweredBy, SipResponseCode and CallDuration from the final callback.';
