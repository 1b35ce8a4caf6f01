import Foundation
import Logging
import PostgresNIO

/// One row of `dialer status`: jobs of one tenant and campaign in one state.
public struct QueueStatusRow: Sendable, Hashable, Codable {
    public let tenantID: String
    public let campaignID: String?
    public let state: JobState
    public let count: Int
    /// For waiting states: seconds since the oldest due job's run_at (how far behind the queue is); `nil` when none is due.
    public let oldestDueAgeSeconds: Double?
}

extension JobStore {
    /// Jobs by tenant, campaign and state, with the age of the oldest due job.
    public func status(tenant: String? = nil, campaign: String? = nil) async throws -> [QueueStatusRow] {
        let rows = try await client.query("""
            SELECT tenant_id, campaign_id, state, count(*)::bigint,
                   extract(epoch FROM now() - min(run_at) FILTER (WHERE state IN ('queued', 'deferred', 'retrying') AND run_at <= now()))::float8
            FROM call_jobs
            WHERE (\(tenant ?? "")::text = '' OR tenant_id = \(tenant ?? "")) AND (\(campaign ?? "")::text = '' OR campaign_id = \(campaign ?? ""))
            GROUP BY tenant_id, campaign_id, state
            ORDER BY tenant_id, campaign_id NULLS FIRST, state
            """, logger: logger)
        var result: [QueueStatusRow] = []
        for try await (tenant, campaign, state, count, age) in rows.decode((String, String?, String, Int, Double?).self) {
            guard let state = JobState(rawValue: state) else { continue }
            result.append(QueueStatusRow(tenantID: tenant, campaignID: campaign, state: state, count: count, oldestDueAgeSeconds: age))
        }
        return result
    }

    /// Whether any job waits (or is in doubt) with a run_at within `window` from now (a drain waits for those).
    public func hasWaitingJobs(dueWithin window: Duration) async throws -> Bool {
        let rows = try await client.query("""
            SELECT EXISTS (SELECT 1 FROM call_jobs WHERE state IN ('queued', 'deferred', 'retrying', 'in_doubt')
                           AND run_at <= now() + make_interval(secs => \(window.seconds)))
            """, logger: logger)
        for try await exists in rows.decode(Bool.self) { return exists }
        return false
    }

    /// Jobs due now (what a drain starts with).
    public func dueCount() async throws -> Int {
        let rows = try await client.query("SELECT count(*)::bigint FROM call_jobs WHERE state IN ('queued', 'deferred', 'retrying') AND run_at <= now()",
                                          logger: logger)
        for try await count in rows.decode(Int.self) { return count }
        return 0
    }
}
