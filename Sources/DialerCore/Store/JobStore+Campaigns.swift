import Foundation
import Logging
import PostgresNIO

/// A campaign's jobs by state and by how their latest call ended, from the maintained counters (migration 0012).
public struct CampaignCounts: Sendable, Hashable {
    public let tenantID: String
    public let campaignID: String
    /// Jobs per state (`queued`, `awaiting_outcome`, `completed`...), the states with none left out.
    public let states: [String: Int]
    /// Jobs per last call outcome (`human`, `machine`, `busy`, `no_answer`...), over all the campaign's jobs whose call ended.
    public let outcomes: [String: Int]
    public let paused: Bool

    public var total: Int { states.values.reduce(0, +) }
}

extension JobStore {
    /// The campaign's counts: the folded totals plus the deltas not folded yet, in one statement (a fold moves rows from
    /// one to the other in one transaction, so a reader sees every change exactly once). Never a `count(*)` over
    /// `call_jobs`. `nil` when the tenant has no such campaign (no job counted, no pause, no policy).
    public func campaignCounts(tenant: String, campaign: String) async throws -> CampaignCounts? {
        let rows = try await client.query("""
            SELECT 'count', state, outcome, sum(jobs)::bigint FROM (
                SELECT state, outcome, jobs FROM campaign_counts WHERE tenant_id = \(tenant) AND campaign_id = \(campaign)
                UNION ALL
                SELECT state, outcome, jobs FROM campaign_count_deltas WHERE tenant_id = \(tenant) AND campaign_id = \(campaign)
            ) c GROUP BY state, outcome HAVING sum(jobs) <> 0
            UNION ALL
            SELECT 'paused', '', '', 1 FROM queue_pauses WHERE tenant_id = \(tenant) AND campaign_id = \(campaign)
            UNION ALL
            SELECT 'policy', '', '', 1 FROM campaign_policies WHERE tenant_id = \(tenant) AND campaign_id = \(campaign)
            """, logger: logger)
        var states: [String: Int] = [:], outcomes: [String: Int] = [:]
        var paused = false, known = false
        for try await (kind, state, outcome, jobs) in rows.decode((String, String, String, Int64).self) {
            known = true
            switch kind {
            case "paused": paused = true
            case "policy": break
            default:
                states[state, default: 0] += Int(jobs)
                if !outcome.isEmpty { outcomes[outcome, default: 0] += Int(jobs) }
            }
        }
        guard known else { return nil }
        return CampaignCounts(tenantID: tenant, campaignID: campaign, states: states, outcomes: outcomes, paused: paused)
    }

    /// Folds the counters' deltas into their totals, if no other process is folding now (an advisory lock), and drops
    /// totals that reached zero. - Returns: how many delta rows were folded, or `nil` when another process holds the lock.
    @discardableResult
    public func foldCampaignCounts() async throws -> Int? {
        try await transaction { connection, logger in
            var locked = false
            for try await value in try await connection.query(
                "SELECT pg_try_advisory_xact_lock(hashtext('openphn-dialer.campaign-counts.' || current_schema()))", logger: logger
            ).decode(Bool.self) { locked = value }
            guard locked else { return nil }
            var folded = 0
            for try await value in try await connection.query("SELECT campaign_counts_fold()", logger: logger).decode(Int64.self) {
                folded = Int(value)
            }
            if folded > 0 {
                try await connection.query("DELETE FROM campaign_counts WHERE jobs = 0", logger: logger)
            }
            return folded
        }
    }
}

extension JobStore {
    /// Every campaign's counts (of one tenant, `tenant` set), from the maintained counters and the pauses: a read of a
    /// few rows per campaign, whatever the size of `call_jobs`. By tenant, then campaign.
    public func campaignOverview(tenant: String?) async throws -> [CampaignCounts] {
        let rows = try await client.query("""
            SELECT tenant_id, campaign_id, state, outcome, sum(jobs)::bigint, false FROM (
                SELECT tenant_id, campaign_id, state, outcome, jobs FROM campaign_counts WHERE \(tenant)::text IS NULL OR tenant_id = \(tenant)
                UNION ALL
                SELECT tenant_id, campaign_id, state, outcome, jobs FROM campaign_count_deltas WHERE \(tenant)::text IS NULL OR tenant_id = \(tenant)
            ) c GROUP BY tenant_id, campaign_id, state, outcome HAVING sum(jobs) <> 0
            UNION ALL
            SELECT tenant_id, campaign_id, '', '', 0, true FROM queue_pauses
            WHERE campaign_id <> '' AND (\(tenant)::text IS NULL OR tenant_id = \(tenant))
            """, logger: logger)
        struct Key: Hashable { let tenant: String, campaign: String }
        var states: [Key: [String: Int]] = [:], outcomes: [Key: [String: Int]] = [:], paused: Set<Key> = []
        for try await (tenantID, campaignID, state, outcome, jobs, isPause) in rows.decode((String, String, String, String, Int64, Bool).self) {
            let key = Key(tenant: tenantID, campaign: campaignID)
            if isPause {
                paused.insert(key)
                states[key, default: [:]] = states[key] ?? [:]
                continue
            }
            states[key, default: [:]][state, default: 0] += Int(jobs)
            if !outcome.isEmpty { outcomes[key, default: [:]][outcome, default: 0] += Int(jobs) }
        }
        return states.keys.sorted { ($0.tenant, $0.campaign) < ($1.tenant, $1.campaign) }.map { key in
            CampaignCounts(tenantID: key.tenant, campaignID: key.campaign, states: states[key] ?? [:], outcomes: outcomes[key] ?? [:],
                           paused: paused.contains(key))
        }
    }
}
