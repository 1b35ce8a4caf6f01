import Foundation
import Logging
import PostgresNIO

extension JobStore {
    /// Creates or updates a tenant.
    /// - Parameter callWindow: the tenant's own daily window in the callee's local time (it can only narrow the legal one).
    public func upsertTenant(id: String, name: String = "", verification: VerificationStatus, subaccountSID: String?, callWindow: DailyWindow? = nil)
        async throws
    {
        let start = callWindow.map { String($0.description.prefix(5)) }
        let end = callWindow.map { String($0.description.suffix(5)) }
        try await client.query("""
            INSERT INTO tenants (id, name, verification_status, twilio_subaccount_sid, call_window_start, call_window_end)
            VALUES (\(id), \(name), \(verification.rawValue), \(subaccountSID), \(start)::time, \(end)::time)
            ON CONFLICT (id) DO UPDATE SET name = excluded.name, verification_status = excluded.verification_status,
                twilio_subaccount_sid = excluded.twilio_subaccount_sid, call_window_start = excluded.call_window_start,
                call_window_end = excluded.call_window_end, updated_at = now()
            """, logger: logger)
    }

    /// Adds (or updates) a caller number of a tenant; `selected` makes it the tenant's default and unselects the others.
    public func upsertPhoneNumber(tenantID: String, e164: String, active: Bool = true, selected: Bool = false) async throws {
        try await transaction { connection, logger in
            if selected {
                try await connection.query("UPDATE phone_numbers SET selected = false WHERE tenant_id = \(tenantID) AND selected AND e164 <> \(e164)",
                                           logger: logger)
            }
            try await connection.query("""
                INSERT INTO phone_numbers (tenant_id, e164, active, selected) VALUES (\(tenantID), \(e164), \(active), \(selected))
                ON CONFLICT (tenant_id, e164) DO UPDATE SET active = excluded.active, selected = excluded.selected
                """, logger: logger)
        }
    }

    /// The current row of a job, for tests, `explain` and the CLI.
    public func job(_ id: Int64) async throws -> JobSnapshot? {
        try await jobs([id]).first
    }

    /// The current rows of jobs, in the order of `ids` (missing ones left out): one statement.
    public func jobs(_ ids: [Int64]) async throws -> [JobSnapshot] {
        guard !ids.isEmpty else { return [] }
        let rows = try await client.query("""
            SELECT id, tenant_id, state, attempt, max_attempts, twilio_call_sid, last_error::text,
                   extract(epoch FROM run_at - now())::float8, destination, campaign_id, purpose, consent_type, consent_at, consent_source, last_outcome
            FROM call_jobs WHERE id = ANY(\(ids))
            """, logger: logger)
        var found: [Int64: JobSnapshot] = [:]
        for try await row in rows {
            let r = row.makeRandomAccess()
            let snapshot = JobSnapshot(
                id: try r[0].decode(Int64.self), tenantID: try r[1].decode(String.self),
                state: JobState(rawValue: try r[2].decode(String.self)) ?? .queued, attempt: try r[3].decode(Int.self),
                maxAttempts: try r[4].decode(Int.self), callSID: try r[5].decode(String?.self),
                lastError: try r[6].decode(String?.self).flatMap(OpenPhnError.parse), runInSeconds: try r[7].decode(Double.self),
                destination: try r[8].decode(String.self), campaignID: try r[9].decode(String?.self),
                purpose: CallPurpose(rawValue: try r[10].decode(String.self)) ?? .telemarketing,
                consentType: try r[11].decode(String?.self).flatMap(ConsentType.init(rawValue:)), consentAt: try r[12].decode(Date?.self),
                consentSource: try r[13].decode(String?.self), lastOutcome: try r[14].decode(String?.self))
            found[snapshot.id] = snapshot
        }
        return ids.compactMap { found[$0] }
    }

    /// A job's attempt log, oldest first.
    public func attempts(jobID: Int64) async throws -> [AttemptRecord] {
        let rows = try await client.query("""
            SELECT attempt, worker, kind, outcome, http_status, twilio_code, twilio_call_sid, possibly_dialed, error::text, detail::text, recorded_at
            FROM call_attempts WHERE job_id = \(jobID) ORDER BY id
            """, logger: logger)
        var result: [AttemptRecord] = []
        for try await row in rows {
            let r = row.makeRandomAccess()
            result.append(AttemptRecord(
                attempt: try r[0].decode(Int.self), worker: try r[1].decode(String.self), kind: try r[2].decode(String.self),
                outcome: try r[3].decode(String.self), httpStatus: try r[4].decode(Int?.self), twilioCode: try r[5].decode(Int?.self),
                callSID: try r[6].decode(String?.self), possiblyDialed: try r[7].decode(Bool.self),
                error: try r[8].decode(String?.self).flatMap(OpenPhnError.parse), detail: try r[9].decode(String?.self).flatMap(JSONValue.parse),
                recordedAt: try r[10].decode(Date.self)))
        }
        return result
    }
}

/// A job as stored now.
public struct JobSnapshot: Sendable, Hashable {
    public let id: Int64
    public let tenantID: String
    public let state: JobState
    public let attempt: Int
    public let maxAttempts: Int
    public let callSID: String?
    public let lastError: OpenPhnError?
    /// Seconds from the database's now until run_at (negative when due).
    public let runInSeconds: Double
    public let destination: String
    public let campaignID: String?
    public let purpose: CallPurpose
    /// The consent evidence the job carries; `nil`: none (the gate will not dial it).
    public let consentType: ConsentType?
    public let consentAt: Date?
    public let consentSource: String?
    /// How its latest call ended (`call_jobs.last_outcome`), once known.
    public var lastOutcome: String? = nil
}

/// One row of `call_attempts`.
public struct AttemptRecord: Sendable, Hashable {
    public let attempt: Int
    public let worker: String
    public let kind: String
    public let outcome: String
    public let httpStatus: Int?
    public let twilioCode: Int?
    public let callSID: String?
    public let possiblyDialed: Bool
    public let error: OpenPhnError?
    public let detail: JSONValue?
    public let recordedAt: Date
}

extension JobStore {
    /// The Twilio subaccounts of every tenant (whose status callbacks are signed with their own auth tokens).
    public func tenantSubaccounts() async throws -> Set<String> {
        let rows = try await client.query("SELECT DISTINCT twilio_subaccount_sid FROM tenants WHERE twilio_subaccount_sid IS NOT NULL", logger: logger)
        var sids = Set<String>()
        for try await sid in rows.decode(String.self) { sids.insert(sid) }
        return sids
    }
}

extension JobStore {
    /// A page of a tenant's jobs, newest first, after `before` (a job id: the previous page's cursor): a walk down the
    /// primary key, never an offset. `limit + 1` rows are read to tell whether another page follows.
    public func jobs(tenant: String, campaign: String?, state: JobState?, before: Int64?, limit: Int) async throws -> (jobs: [JobSnapshot], more: Bool) {
        let rows = try await client.query("""
            SELECT id FROM call_jobs
            WHERE tenant_id = \(tenant) AND (\(campaign ?? "") = '' OR campaign_id = \(campaign ?? ""))
              AND (\(state?.rawValue ?? "") = '' OR state = \(state?.rawValue ?? "")) AND id < \(before ?? Int64.max)
            ORDER BY id DESC LIMIT \(limit + 1)
            """, logger: logger)
        var ids: [Int64] = []
        for try await id in rows.decode(Int64.self) { ids.append(id) }
        let more = ids.count > limit
        return (try await jobs(Array(ids.prefix(limit))), more)
    }
}
