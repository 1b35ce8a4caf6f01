import Logging
import PostgresNIO

/// One job taken back from a worker whose lease expired.
public struct RecoveredJob: Sendable, Hashable {
    public let jobID: Int64
    public let previousOwner: String
    public let attempt: Int
    public let state: JobState
}

extension JobStore {
    /// Takes back jobs whose lease expired (their worker died or hung), up to `limit` per call.
    ///
    /// The dead worker may have sent the request, so the job goes to `in_doubt` and is reconciled with Twilio before
    /// any re-dial; its attempt row says `possibly_dialed`. SKIP LOCKED lets every worker run this without contending;
    /// a job its owner is writing right now is simply skipped (and the owner's fenced write wins or loses cleanly).
    public func recoverExpiredLeases(limit: Int = 500) async throws -> [RecoveredJob] {
        let rows = try await client.query("""
            WITH expired AS (
                SELECT id, lease_owner, attempt FROM call_jobs
                WHERE state = 'active' AND lease_expires_at < now()
                ORDER BY lease_expires_at
                LIMIT \(limit)
                FOR UPDATE SKIP LOCKED
            ), updated AS (
                UPDATE call_jobs j
                SET state = 'in_doubt', run_at = now(),
                    last_error = jsonb_build_object(
                        'error', 'worker_lost',
                        'message', 'The worker dialing this job stopped before recording an outcome; the call may or may not have been placed.',
                        'details', jsonb_build_object('attempts', j.attempt, 'worker', expired.lease_owner)),
                    lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
                FROM expired WHERE j.id = expired.id
                RETURNING j.id, expired.lease_owner, j.attempt, j.state, j.attempted_at
            ), logged AS (
                INSERT INTO call_attempts (job_id, attempt, worker, kind, outcome, possibly_dialed, claimed_at, detail)
                SELECT id, attempt, lease_owner, 'recovery', 'lease_expired', true, attempted_at, jsonb_build_object('next_state', state)
                FROM updated
            )
            SELECT id, lease_owner, attempt, state FROM updated
            """, logger: logger)
        var recovered: [RecoveredJob] = []
        for try await (id, owner, attempt, state) in rows.decode((Int64, String, Int, String).self) {
            recovered.append(RecoveredJob(jobID: id, previousOwner: owner, attempt: attempt, state: JobState(rawValue: state) ?? .inDoubt))
        }
        return recovered
    }
}
