import Foundation
import Logging
import PostgresNIO

/// A paused tenant (`campaignID == nil`) or campaign.
public struct QueuePause: Sendable, Hashable, Codable {
    public let tenantID: String
    public let campaignID: String?
    public let reason: String
    public let pausedBy: String
    public let pausedAt: Date
}

extension JobStore {
    /// Pauses a tenant or one of its campaigns: its waiting jobs are parked (state `paused`) and no job of the scope is
    /// claimed until ``resume(tenant:campaign:)``. Dials already in flight finish; jobs claimed but not yet dialed are handed back
    /// by their workers (``pausesChanged``). Pausing twice is harmless.
    /// - Returns: whether the scope was newly paused, and how many jobs were parked.
    public func pause(tenant: String, campaign: String?, reason: String = "", by operatorID: String) async throws -> (newlyPaused: Bool, parked: Int) {
        try await requireTenant(tenant)
        let scope = campaign ?? ""
        var newlyPaused = false
        for try await inserted in try await client.query("""
            INSERT INTO queue_pauses (tenant_id, campaign_id, reason, paused_by) VALUES (\(tenant), \(scope), \(reason), \(operatorID))
            ON CONFLICT (tenant_id, campaign_id) DO UPDATE SET reason = CASE WHEN EXCLUDED.reason = '' THEN queue_pauses.reason ELSE EXCLUDED.reason END
            RETURNING xmax = 0
            """, logger: logger).decode(Bool.self)
        {
            newlyPaused = inserted
        }
        var parked = 0
        while true {
            let rows = try await client.query("""
                WITH batch AS (
                    SELECT id FROM call_jobs
                    WHERE tenant_id = \(tenant) AND (\(scope) = '' OR campaign_id = \(scope)) AND state IN ('queued', 'deferred', 'retrying')
                    LIMIT \(Self.operatorBatch)
                    FOR UPDATE SKIP LOCKED
                )
                UPDATE call_jobs j SET paused_from = j.state, state = 'paused', updated_at = now() FROM batch WHERE j.id = batch.id
                RETURNING 1
                """, logger: logger)
            let count = try await rows.collect().count
            parked += count
            if count < Self.operatorBatch { break }
        }
        // Workers hand back the scope's jobs they claimed before the pause and have not dialed yet.
        try await client.query("SELECT pg_notify(\(Self.readyChannel), \(Self.pausesChanged))", logger: logger)
        try await auditPause("pause", tenant: tenant, campaign: campaign, changed: newlyPaused, affected: parked, reason: reason, by: operatorID)
        logger.notice("paused", metadata: ["tenant": "\(tenant)", "campaign": "\(scope)", "parked": "\(parked)", "by": "\(operatorID)"])
        return (newlyPaused, parked)
    }

    /// Lifts a pause: the scope's parked jobs go back to the state they were parked from (unless another pause still
    /// covers them, e.g. the campaign's own pause when its tenant is resumed), and workers are woken.
    /// - Returns: whether the scope was paused, and how many jobs went back to the queue.
    public func resume(tenant: String, campaign: String?, by operatorID: String) async throws -> (wasPaused: Bool, unparked: Int) {
        try await requireTenant(tenant)
        let scope = campaign ?? ""
        let deleted = try await client.query("DELETE FROM queue_pauses WHERE tenant_id = \(tenant) AND campaign_id = \(scope) RETURNING 1", logger: logger)
        let wasPaused = try await !deleted.collect().isEmpty
        var unparked = 0
        while true {
            let rows = try await client.query("""
                WITH batch AS (
                    SELECT id FROM call_jobs j
                    WHERE tenant_id = \(tenant) AND (\(scope) = '' OR campaign_id = \(scope)) AND state = 'paused'
                      AND NOT \(unescaped: Self.scopePaused("j"))
                    LIMIT \(Self.operatorBatch)
                    FOR UPDATE SKIP LOCKED
                )
                UPDATE call_jobs j SET state = j.paused_from, paused_from = NULL, updated_at = now() FROM batch WHERE j.id = batch.id
                RETURNING 1
                """, logger: logger)
            let count = try await rows.collect().count
            unparked += count
            if count < Self.operatorBatch { break }
        }
        try await client.query("SELECT pg_notify(\(Self.readyChannel), \(Self.pausesChanged))", logger: logger)  // wakes them too
        try await auditPause("resume", tenant: tenant, campaign: campaign, changed: wasPaused, affected: unparked, reason: nil, by: operatorID)
        logger.notice("resumed", metadata: ["tenant": "\(tenant)", "campaign": "\(scope)", "unparked": "\(unparked)", "by": "\(operatorID)"])
        return (wasPaused, unparked)
    }

    /// The `audit_log` row of a pause or a resume: who, which scope, whether it changed, how many jobs it moved.
    private func auditPause(_ action: String, tenant: String, campaign: String?, changed: Bool, affected: Int, reason: String?, by actor: String)
        async throws
    {
        let scope = JSONValue.object(["campaign_id": campaign.map(JSONValue.string) ?? .null, "changed": .bool(changed)]).jsonText
        try await client.query("""
            INSERT INTO audit_log (actor, action, tenant_id, campaign_id, scope, affected, source)
            VALUES (\(actor), \(action), \(tenant), \(campaign), \(scope)::jsonb, \(affected), \(reason.flatMap { $0.isEmpty ? nil : $0 }))
            """, logger: logger)
    }

    /// Every paused scope, oldest first.
    public func pauses() async throws -> [QueuePause] {
        var pauses: [QueuePause] = []
        let rows = try await client.query(
            "SELECT tenant_id, campaign_id, reason, paused_by, paused_at FROM queue_pauses ORDER BY paused_at, tenant_id, campaign_id", logger: logger)
        for try await (tenant, campaign, reason, by, at) in rows.decode((String, String, String, String, Date).self) {
            pauses.append(QueuePause(tenantID: tenant, campaignID: campaign.isEmpty ? nil : campaign, reason: reason, pausedBy: by, pausedAt: at))
        }
        return pauses
    }
}
