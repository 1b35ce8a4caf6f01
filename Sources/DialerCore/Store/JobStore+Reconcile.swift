import Foundation
import Logging
import PostgresNIO

/// A job in doubt, leased for reconciliation: whether its last attempt created a call is asked of Twilio.
public struct InDoubtCall: Sendable, Hashable {
    public let jobID: Int64
    public let tenantID: String
    public let destination: String
    public let callerE164: String
    public let subaccountSID: String?
    public let attempt: Int
    public let maxAttempts: Int
    /// When the attempt in doubt was claimed (database clock): a call it created is no older than this.
    public let attemptStartedAt: Date
    /// When the job was enqueued (database clock): no call of any of its attempts is older, so reconciliation looks at
    /// Twilio's calls since then, and a call an earlier attempt created settles the job too.
    public let jobCreatedAt: Date
    public let lastError: OpenPhnError?
    /// The database's clock at this lease.
    public let leasedAt: Date
}

extension JobStore {
    /// Leases up to `limit` in-doubt jobs due for reconciliation. SKIP LOCKED and the lease keep two reconcilers from
    /// asking about the same job; a reconciler that dies leaves a lease that expires, and the job is picked up again.
    public func claimInDoubt(limit: Int, worker: String, lease: Duration) async throws -> [InDoubtCall] {
        let rows = try await client.query("""
            WITH due AS (
                SELECT id FROM call_jobs
                WHERE state = 'in_doubt' AND run_at <= now() AND (lease_expires_at IS NULL OR lease_expires_at < now())
                ORDER BY run_at
                LIMIT \(limit)
                FOR UPDATE SKIP LOCKED
            ), leased AS (
                UPDATE call_jobs j SET lease_owner = \(worker), lease_expires_at = now() + make_interval(secs => \(lease.seconds)), updated_at = now()
                FROM due WHERE j.id = due.id
                RETURNING j.id, j.tenant_id, j.destination, j.caller_number_id, j.attempt, j.max_attempts, j.attempted_at, j.last_error, j.created_at
            )
            SELECT l.id, l.tenant_id, l.destination, p.e164, t.twilio_subaccount_sid, l.attempt, l.max_attempts,
                   coalesce(l.attempted_at, now() - interval '1 day'), l.last_error::text, now(), l.created_at
            FROM leased l JOIN tenants t ON t.id = l.tenant_id JOIN phone_numbers p ON p.id = l.caller_number_id
            """, logger: logger)
        var calls: [InDoubtCall] = []
        for try await row in rows {
            let r = row.makeRandomAccess()
            calls.append(InDoubtCall(
                jobID: try r[0].decode(Int64.self), tenantID: try r[1].decode(String.self), destination: try r[2].decode(String.self),
                callerE164: try r[3].decode(String.self), subaccountSID: try r[4].decode(String?.self), attempt: try r[5].decode(Int.self),
                maxAttempts: try r[6].decode(Int.self), attemptStartedAt: try r[7].decode(Date.self), jobCreatedAt: try r[10].decode(Date.self),
                lastError: try r[8].decode(String?.self).flatMap(OpenPhnError.parse), leasedAt: try r[9].decode(Date.self)))
        }
        return calls
    }

    /// Of `callSIDs`, those already recorded on a job other than `jobID`: Twilio calls to `destination` that are
    /// another job's, so reconciliation does not take them for this one's. Only jobs to the same destination of the
    /// tenants on `subaccount` can hold such a SID: the tenants' ids are read first (`ARRAY(...)`, a small table), so
    /// both columns of `call_jobs_tenant_destination` (0002) bound the index scan and no new index is needed.
    public func callSIDsOfOtherJobs(_ callSIDs: [String], jobID: Int64, subaccount: String, destination: String) async throws -> Set<String> {
        guard !callSIDs.isEmpty else { return [] }
        let rows = try await client.query("""
            SELECT j.twilio_call_sid FROM call_jobs j
            WHERE j.tenant_id = ANY(ARRAY(SELECT id FROM tenants WHERE twilio_subaccount_sid = \(subaccount)))
              AND j.destination = \(destination) AND j.id <> \(jobID) AND j.twilio_call_sid = ANY(\(callSIDs))
            """, logger: logger)
        var recorded = Set<String>()
        for try await sid in rows.decode(String.self) { recorded.insert(sid) }
        return recorded
    }
}
