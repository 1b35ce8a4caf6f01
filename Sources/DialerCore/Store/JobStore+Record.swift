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
        var binds = PostgresBindings(capacity: 14)
        binds.append(outcomes.map(\.jobID))
        binds.append(outcomes.map(\.attempt))
        binds.append(outcomes.map(\.state.rawValue))
        binds.append(outcomes.map { $0.delay?.seconds ?? -1 })
        binds.append(outcomes.map(\.refundAttempt))
        binds.append(outcomes.map { $0.callSID ?? "" })
        binds.append(outcomes.map { $0.error?.jsonText ?? "" })
        binds.append(outcomes.map(\.kind.rawValue))
        binds.append(outcomes.map(\.outcome.rawValue))
        binds.append(outcomes.map { $0.httpStatus ?? 0 })
        binds.append(outcomes.map { $0.twilioCode ?? 0 })
        binds.append(outcomes.map(\.possiblyDialed))
        binds.append(outcomes.map { $0.detail?.jsonText ?? "" })
        binds.append(worker)
        let rows = try await client.query(Self.recordStatement.query(binds), logger: logger)
        var applied = Set<Int64>()
        for try await id in rows.decode(Int64.self) { applied.insert(id) }
        return applied
    }

    /// The outcome write (see ``record(_:worker:)``): one array per column of the outcomes, `$1` ... `$13`, and `$14` the
    /// worker id the write is fenced on.
    static let recordStatement = SQLStatement(
        name: "record",
        parameters: ["ids", "attempts", "states", "delays", "refunds", "sids", "errors", "kinds", "outcomes", "http_statuses", "twilio_codes",
                     "possibly_dialed", "details", "worker"],
        text: """
        WITH o AS (
            SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::float8[], $5::bool[],
                                 $6::text[], $7::text[], $8::text[], $9::text[], $10::int[],
                                 $11::int[], $12::bool[], $13::text[])
                 AS o(id, attempt, state, delay, refund, sid, error, kind, outcome, http_status, twilio_code, possibly, detail)
        ), updated AS (
            UPDATE call_jobs j
            SET state = o.state,
                attempt = j.attempt - o.refund::int,
                run_at = CASE WHEN o.delay >= 0 THEN now() + make_interval(secs => o.delay) ELSE j.run_at END,
                twilio_call_sid = coalesce(NULLIF(o.sid, ''), j.twilio_call_sid),
                last_error = CASE WHEN o.state = 'awaiting_outcome' THEN NULL WHEN o.error <> '' THEN o.error::jsonb ELSE j.last_error END,
                lease_owner = NULL, lease_expires_at = NULL,
                finished_at = CASE WHEN o.state IN ('completed', 'dialed', 'failed', 'cancelled') THEN now() END,
                updated_at = now()
            FROM o
            WHERE j.id = o.id AND j.state IN ('active', 'in_doubt') AND j.lease_owner = $14 AND j.attempt = o.attempt
            RETURNING j.id, j.attempted_at
        ), logged AS (
            INSERT INTO call_attempts (job_id, attempt, worker, kind, outcome, http_status, twilio_code, twilio_call_sid,
                                       possibly_dialed, error, detail, claimed_at)
            SELECT o.id, o.attempt, $14, o.kind, o.outcome, NULLIF(o.http_status, 0), NULLIF(o.twilio_code, 0), NULLIF(o.sid, ''),
                   o.possibly, NULLIF(o.error, '')::jsonb,
                   CASE WHEN updated.id IS NULL THEN coalesce(NULLIF(o.detail, '')::jsonb, '{}'::jsonb) || '{"fenced": true}'::jsonb
                        ELSE NULLIF(o.detail, '')::jsonb END,
                   updated.attempted_at
            FROM o LEFT JOIN updated ON updated.id = o.id
        )
        SELECT id FROM updated
        """)

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
