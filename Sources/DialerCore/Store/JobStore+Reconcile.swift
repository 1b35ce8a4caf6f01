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
                RETURNING j.id, j.tenant_id, j.destination, j.caller_number_id, j.attempt, j.max_attempts, j.attempted_at, j.last_error
            )
            SELECT l.id, l.tenant_id, l.destination, p.e164, t.twilio_subaccount_sid, l.attempt, l.max_attempts,
                   coalesce(l.attempted_at, now() - interval '1 day'), l.last_error::text, now()
            FROM leased l JOIN tenants t ON t.id = l.tenant_id JOIN phone_numbers p ON p.id = l.caller_number_id
            """, logger: logger)
        var calls: [InDoubtCall] = []
        for try await row in rows {
            let r = row.makeRandomAccess()
            calls.append(InDoubtCall(
                jobID: try r[0].decode(Int64.self), tenantID: try r[1].decode(String.self), destination: try r[2].decode(String.self),
                callerE164: try r[3].decode(String.self), subaccountSID: try r[4].decode(String?.self), attempt: try r[5].decode(Int.self),
                maxAttempts: try r[6].decode(Int.self), attemptStartedAt: try r[7].decode(Date.self),
                lastError: try r[8].decode(String?.self).flatMap(OpenPhnError.parse), leasedAt: try r[9].decode(Date.self)))
        }
        return calls
    }
}
