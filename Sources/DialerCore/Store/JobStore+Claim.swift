import Foundation
import Logging
import PostgresNIO

extension JobStore {
    /// Claims up to `limit` due jobs in one statement and one round trip.
    ///
    /// The CTE picks due rows from the partial index in dial order (priority, then run_at) with `FOR UPDATE SKIP LOCKED`,
    /// so concurrent claimers on any number of machines never take the same row and never wait on each other; the CTE is
    /// also the planner fence that keeps the UPDATE to exactly `limit` rows. The same statement takes the lease, counts
    /// the attempt and joins the tenant and the caller number, so the worker needs nothing more to gate and dial:
    /// the do-not-call lists (global and the tenant's: primary-key probes), the tenant's own window, the tenant's
    /// dials to the destination in the last 24 hours (frequency caps), and the job's purpose and consent evidence (columns
    /// of the claimed row, as they are at the claim) ride on the same statement.
    /// - Parameters:
    ///   - worker: this worker's id, stored as the lease owner.
    ///   - lease: how long the lease lasts without being renewed or released.
    ///   - tenant, campaign: claim only this tenant's (or campaign's) jobs (`dialer drain --tenant/--campaign`).
    ///
    /// Jobs of a paused tenant or campaign are skipped: pausing parks the waiting ones outside the index, and the
    /// `queue_pauses` probe catches the few rescheduled by dials that were in flight when the pause came.
    public func claim(limit: Int, worker: String, lease: Duration, tenant: String? = nil, campaign: String? = nil) async throws -> [ClaimedCall] {
        guard limit > 0 else { return [] }
        var binds = PostgresBindings(capacity: 5)
        binds.append(tenant ?? "")
        binds.append(campaign ?? "")
        binds.append(limit)
        binds.append(worker)
        binds.append(lease.seconds)
        let rows = try await client.query(Self.claimStatement.query(binds), logger: logger)
        var calls: [ClaimedCall] = []
        calls.reserveCapacity(limit)
        for try await row in rows {
            let r = row.makeRandomAccess()
            calls.append(ClaimedCall(
                jobID: try r[0].decode(Int64.self), tenantID: try r[1].decode(String.self), campaignID: try r[2].decode(String?.self),
                destination: try r[3].decode(String.self), attempt: try r[4].decode(Int.self), maxAttempts: try r[5].decode(Int.self),
                expiresAt: try r[6].decode(Date?.self),
                verification: VerificationStatus(rawValue: try r[7].decode(String.self)) ?? .pendingReview,
                subaccountSID: try r[8].decode(String?.self), callerE164: try r[9].decode(String.self), callerActive: try r[10].decode(Bool.self),
                callerOwnedByTenant: try r[11].decode(Bool.self), claimedAt: try r[12].decode(Date.self),
                // Read as the strictest case when unreadable: an unknown purpose needs written consent, an unknown type is none.
                purpose: CallPurpose(rawValue: try r[18].decode(String.self)) ?? .telemarketing,
                consentType: try r[19].decode(String?.self).flatMap(ConsentType.init(rawValue:)),
                onGlobalDNC: try r[13].decode(Bool.self), onTenantDNC: try r[14].decode(Bool.self),
                tenantWindow: try r[15].decode(String?.self).flatMap(DailyWindow.init), recentDials: try r[16].decode(Int.self),
                oldestRecentDial: try r[17].decode(Date?.self)))
        }
        return calls
    }

    /// The claim (see ``claim(limit:worker:lease:tenant:campaign:)``): `$1` tenant and `$2` campaign ('' for any), `$3`
    /// the batch size, `$4` the worker id, `$5` the lease in seconds.
    static let claimStatement = SQLStatement(name: "claim", parameters: ["tenant", "campaign", "limit", "worker", "lease_seconds"], text: """
        WITH due AS (
            SELECT id FROM call_jobs j
            WHERE state IN ('queued', 'deferred', 'retrying') AND run_at <= now()
              AND ($1 = '' OR tenant_id = $1) AND ($2 = '' OR campaign_id = $2)
              AND NOT \(JobStore.scopePaused("j"))
            ORDER BY priority, run_at, id
            LIMIT $3
            FOR UPDATE SKIP LOCKED
        ), claimed AS (
            UPDATE call_jobs j
            SET state = 'active', attempt = j.attempt + 1, lease_owner = $4,
                lease_expires_at = now() + make_interval(secs => $5), attempted_at = now(), updated_at = now()
            FROM due WHERE j.id = due.id
            RETURNING j.id, j.tenant_id, j.campaign_id, j.destination, j.attempt, j.max_attempts, j.expires_at, j.caller_number_id,
                      j.purpose, j.consent_type
        )
        SELECT c.id, c.tenant_id, c.campaign_id, c.destination, c.attempt, c.max_attempts, c.expires_at,
               t.verification_status, t.twilio_subaccount_sid, p.e164, p.active, p.tenant_id = c.tenant_id, now(),
               EXISTS (SELECT 1 FROM dnc_global g WHERE g.number = n.number),
               EXISTS (SELECT 1 FROM dnc_tenant d WHERE d.tenant_id = c.tenant_id AND d.number = n.number),
               to_char(t.call_window_start, 'HH24:MI') || '-' || to_char(t.call_window_end, 'HH24:MI'),
               recent.dials, recent.oldest, c.purpose, c.consent_type
        FROM claimed c
        JOIN tenants t ON t.id = c.tenant_id
        JOIN phone_numbers p ON p.id = c.caller_number_id
        CROSS JOIN LATERAL (SELECT CASE WHEN c.destination ~ '^\\+[0-9]{8,15}$' THEN substr(c.destination, 2)::bigint END AS number) n
        CROSS JOIN LATERAL (\(JobStore.recentDials(tenant: "c.tenant_id", destination: "c.destination"))) recent
        """)
}
