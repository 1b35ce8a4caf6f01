import Foundation
import Logging
import PostgresNIO

/// One row of `audit_log`: an action taken on people's calls, or a console session's start and end.
public struct AuditEntry: Sendable, Hashable {
    public let id: Int64
    public let at: Date
    public let actor: String
    public let action: String
    public let tenantID: String?
    public let campaignID: String?
    /// The action's scope as stored (`{"campaign_id": ..., "dry_run": false, ...}`).
    public let scope: JSONValue
    public let affected: Int
    public let source: String?
}

extension JobStore {
    /// Appends an `audit_log` row. - Parameters: `scope`: what the action covered (a JSON object).
    public func audit(_ action: String, by actor: String, tenant: String?, campaign: String? = nil, scope: [String: JSONValue] = [:],
                      affected: Int = 0, source: String? = nil) async throws
    {
        let scopeText = JSONValue.object(scope).jsonText
        try await client.query("""
            INSERT INTO audit_log (actor, action, tenant_id, campaign_id, scope, affected, source)
            VALUES (\(actor), \(action), \(tenant), \(campaign), \(scopeText)::jsonb, \(affected), \(source))
            """, logger: logger)
    }

    /// The `audit_log` rows of a tenant, newest first (tests).
    public func auditLog(tenant: String, limit: Int = 100) async throws -> [AuditEntry] {
        try await auditEntries(tenant: tenant, limit: limit)
    }

    /// The newest audit rows, of one tenant (`tenant` set) or of all, newest first; `before` pages back by id.
    public func auditEntries(tenant: String?, before: Int64? = nil, limit: Int = 100) async throws -> [AuditEntry] {
        let rows = try await client.query("""
            SELECT id, at, actor, action, tenant_id, campaign_id, scope::text, affected, source FROM audit_log
            WHERE (\(tenant)::text IS NULL OR tenant_id = \(tenant)) AND id < \(before ?? Int64.max)
            ORDER BY id DESC LIMIT \(max(1, min(limit, 500)))
            """, logger: logger)
        var entries: [AuditEntry] = []
        for try await (id, at, actor, action, tenantID, campaignID, scope, affected, source) in rows.decode(
            (Int64, Date, String, String, String?, String?, String, Int, String?).self)
        {
            entries.append(AuditEntry(id: id, at: at, actor: actor, action: action, tenantID: tenantID, campaignID: campaignID,
                                      scope: JSONValue.parse(scope) ?? .object([:]), affected: affected, source: source))
        }
        return entries
    }
}
