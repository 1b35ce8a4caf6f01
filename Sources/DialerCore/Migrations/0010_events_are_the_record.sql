-- 0010_events_are_the_record.sql: call_outcomes goes; a call's outcome is its final event in call_events.
-- Every row of call_outcomes repeated a call_events row (the final status, with AnsweredBy, SipResponseCode and
-- CallDuration: Twilio sends them on the final callback, and the sweeper's lookup stores its answer as a final event
-- too), plus the times of the events before it, which call_events holds. Writing it cost each ended call one more
-- row and two more index entries, and reading it back (the settlement's facts) one more probe: status callbacks are
-- the hottest write path there is (four a call), so the duplicate goes. Reads (dialer explain, the sweeper, the
-- settlement) derive a call's outcome from its events, by call SID (the primary key's prefix).
DROP TABLE IF EXISTS call_outcomes;

COMMENT ON TABLE call_events IS 'Every status callback stored once, keyed by (call_sid, sequence_number); a repeat changes nothing. A call''s outcome is its final event (completed, busy, no-answer, failed, canceled: the lowest sequence number among them), with the AnsweredBy of its latest event that had one; its other rows give the time of each event. A late earlier status after the final one is stored and never moves the call backwards. source = lookup: the sweeper''s answer from GET Calls/{Sid} (sequence numbers from 1000000).';

-- Call SIDs are ASCII identifiers ("CA" and 32 hex digits): compared byte by byte ("C"), the primary key's inserts skip
-- the locale's collation routine, which a callback pays on every descent of the index (about a quarter of the cost of
-- storing one, measured). Equality and every lookup are unchanged. Rebuilds the primary key.
ALTER TABLE call_events ALTER COLUMN call_sid TYPE text COLLATE "C";

-- No plan reads call_events by its statistics any more (every read is a probe of the primary key by call SID), so its
-- early ANALYZE goes: on a young table it re-read every row each few thousand callbacks, for nothing.
ALTER TABLE call_events RESET (autovacuum_analyze_scale_factor, autovacuum_analyze_threshold);

-- call_attempts is the jobs' append-only log. Its rows are written only by statements that moved their job in the same
-- statement (RETURNING of a fenced UPDATE), and a job leaves only by retention, which deletes its attempts with it
-- (JobStore.prune); the foreign key's check (a row lock on the job, per attempt) cost 8 us of the 11 us an attempt row
-- costs (measured: 100,000 rows in batches of 100), twice per settled call. It goes; the index on job_id stays.
ALTER TABLE call_attempts DROP CONSTRAINT IF EXISTS call_attempts_job_id_fkey;

-- A destination is "+" and digits: compared byte by byte ("C", the same order as the locale's for these characters),
-- the (tenant_id, destination) index costs no collation routine on the claim's lookup of a lead's dials, nor on the
-- index entry each move of a job writes. Rebuilds that index.
ALTER TABLE call_jobs ALTER COLUMN destination TYPE text COLLATE "C";

-- STIR/SHAKEN: Twilio's ringing and in-progress callbacks carry StirStatus, the attestation the carrier signed the
-- caller ID with (A full, B partial, C gateway). A call that reaches people with anything but A is seen as spoofable
-- and labelled "spam likely" by carriers; operators read it per call (dialer explain). Other values are dropped.
ALTER TABLE call_events ADD COLUMN IF NOT EXISTS stir_status text;
COMMENT ON COLUMN call_events.stir_status IS 'StirStatus of the callback (A, B or C), as Twilio sent it on ringing and in-progress; NULL when absent.';
