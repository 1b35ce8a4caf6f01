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
    /// The worker may have sent the request before it died, so the attempt row says `possibly_dialed`. With attempts
    /// left the job waits out the backoff in `retrying`; otherwise it fails with `worker_lost`. SKIP LOCKED lets every
    /// worker run this without contending; a job its owner is writing right now is simply skipped.
    /// - Parameters:
    ///   - backoff: the same schedule a failed dial uses, applied on the database clock.
    public func recoverExpiredLeases(limit: Int = 500, backoff: Backoff) async throws -> [RecoveredJob] {
        let rows = try await client.query("""
            WITH expired AS (
                SELECT id, lease_owner, attempt FROM call_jobs
                WHERE state = 'active' AND lease_expires_at < now()
                ORDER BY lease_expires_at
                LIMIT \(limit)
                FOR UPDATE SKIP LOCKED
            ), updated AS (
                UPDATE call_jobs j
                SET state = CASE WHEN j.attempt >= j.max_attempts THEN 'failed' ELSE 'retrying' END,
                    run_at = now() + make_interval(secs => least(\(backoff.cap.seconds), \(backoff.base.seconds) * power(2, greatest(j.attempt - 1, 0)))),
                    last_error = CASE WHEN j.attempt >= j.max_attempts THEN jsonb_build_object(
                        'error', 'worker_lost',
                        'message', 'The worker dialing this job stopped before recording an outcome, and no attempts are left.',
                        'details', jsonb_build_object('attempts', j.attempt, 'max_attempts', j.max_attempts, 'worker', expired.lease_owner))
                        ELSE j.last_error END,
                    finished_at = CASE WHEN j.attempt >= j.max_attempts THEN now() END,
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
            recovered.append(RecoveredJob(jobID: id, previousOwner: owner, attempt: attempt, state: JobState(rawValue: state) ?? .retrying))
        }
        return recovered
    }
}
