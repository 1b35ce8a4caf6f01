import Logging
import PostgresNIO

extension JobStore {
    /// Writes many outcomes in one statement: the job updates and their `call_attempts` rows.
    ///
    /// Fenced: a job changes only while it is leased (`active`, or `in_doubt` under reconciliation) by `worker` at the
    /// claim's `attempt`, so a late
    /// write from a worker that lost its lease changes nothing. The attempt row is written either way (a call SID from a
    /// fenced-out worker must not be lost).
    /// - Returns: the ids of the jobs whose state this call changed.
    @discardableResult
    public func record(_ outcomes: [JobOutcome], worker: String) async throws -> Set<Int64> {
        guard !outcomes.isEmpty else { return [] }
        let ids = outcomes.map(\.jobID)
        let attempts = outcomes.map(\.attempt)
        let states = outcomes.map(\.state.rawValue)
        let delays = outcomes.map { $0.delay?.seconds ?? -1 }
        let refunds = outcomes.map(\.refundAttempt)
        let sids = outcomes.map { $0.callSID ?? "" }
        let errors = outcomes.map { $0.error?.jsonText ?? "" }
        let kinds = outcomes.map(\.kind.rawValue)
        let results = outcomes.map(\.outcome)
        let statuses = outcomes.map { $0.httpStatus ?? 0 }
        let codes = outcomes.map { $0.twilioCode ?? 0 }
        let possibly = outcomes.map(\.possiblyDialed)
        let details = outcomes.map { $0.detail?.jsonText ?? "" }
        let rows = try await client.query("""
            WITH o AS (
                SELECT * FROM unnest(\(ids)::bigint[], \(attempts)::int[], \(states)::text[], \(delays)::float8[], \(refunds)::bool[],
                                     \(sids)::text[], \(errors)::text[], \(kinds)::text[], \(results)::text[], \(statuses)::int[],
                                     \(codes)::int[], \(possibly)::bool[], \(details)::text[])
                     AS o(id, attempt, state, delay, refund, sid, error, kind, outcome, http_status, twilio_code, possibly, detail)
            ), updated AS (
                UPDATE call_jobs j
                SET state = o.state,
                    attempt = j.attempt - o.refund::int,
                    run_at = CASE WHEN o.delay >= 0 THEN now() + make_interval(secs => o.delay) ELSE j.run_at END,
                    twilio_call_sid = coalesce(NULLIF(o.sid, ''), j.twilio_call_sid),
                    last_error = CASE WHEN o.state = 'dialed' THEN NULL WHEN o.error <> '' THEN o.error::jsonb ELSE j.last_error END,
                    lease_owner = NULL, lease_expires_at = NULL,
                    finished_at = CASE WHEN o.state IN ('dialed', 'failed', 'cancelled') THEN now() END,
                    updated_at = now()
                FROM o
                WHERE j.id = o.id AND j.state IN ('active', 'in_doubt') AND j.lease_owner = \(worker) AND j.attempt = o.attempt
                RETURNING j.id, j.attempted_at
            ), logged AS (
                INSERT INTO call_attempts (job_id, attempt, worker, kind, outcome, http_status, twilio_code, twilio_call_sid,
                                           possibly_dialed, error, detail, claimed_at)
                SELECT o.id, o.attempt, \(worker), o.kind, o.outcome, NULLIF(o.http_status, 0), NULLIF(o.twilio_code, 0), NULLIF(o.sid, ''),
                       o.possibly, NULLIF(o.error, '')::jsonb,
                       CASE WHEN updated.id IS NULL THEN coalesce(NULLIF(o.detail, '')::jsonb, '{}'::jsonb) || '{"fenced": true}'::jsonb
                            ELSE NULLIF(o.detail, '')::jsonb END,
                       updated.attempted_at
                FROM o LEFT JOIN updated ON updated.id = o.id
            )
            SELECT id FROM updated
            """, logger: logger)
        var applied = Set<Int64>()
        for try await id in rows.decode(Int64.self) { applied.insert(id) }
        return applied
    }

    /// Extends the leases of jobs this worker still holds (a heartbeat while dials are in flight).
    /// - Returns: how many leases were extended.
    @discardableResult
    public func extendLeases(_ ids: [Int64], worker: String, lease: Duration) async throws -> Int {
        guard !ids.isEmpty else { return 0 }
        let rows = try await client.query("""
            UPDATE call_jobs SET lease_expires_at = now() + make_interval(secs => \(lease.seconds))
            WHERE id = ANY(\(ids)) AND state IN ('active', 'in_doubt') AND lease_owner = \(worker)
            RETURNING id
            """, logger: logger)
        var count = 0
        for try await _ in rows { count += 1 }
        return count
    }
}
