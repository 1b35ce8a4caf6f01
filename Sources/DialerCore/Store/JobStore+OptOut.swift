import Foundation
import Logging
import PostgresNIO

/// What an opt-out did.
public struct OptOutResult: Sendable, Hashable {
    public let tenantID: String
    public let destination: PhoneNumber
    public let source: String
    /// `false` when the number was on the tenant's do-not-call list already (its first source is kept).
    public let addedToDNC: Bool
    /// Waiting and paused jobs of the tenant to the number, now `cancelled`.
    public let cancelled: Int
    /// Jobs of the tenant to the number being dialed or reconciled: left alone; the gate's do-not-call check blocks any
    /// later dial of them.
    public let inFlight: Int
    /// The `audit_log` row that records it.
    public let auditID: Int64
}

extension JobStore {
    /// Honours a revocation at once, in one transaction: the number goes on the tenant's do-not-call list (with the
    /// request's source), the tenant's waiting and paused jobs to it end `cancelled` (each with an `operator` attempt row
    /// whose detail says `opted_out` and the source), and an `audit_log` row records who did it, when, and how many jobs
    /// it cancelled. Jobs `active` or `in_doubt` are left alone, as every cancel leaves them: a dial in flight may already
    /// ring, and any later dial of them meets the do-not-call list at the gate. Other tenants' jobs are never touched.
    /// - Parameter actor: who reports it: `operator:USER@HOST` for the CLI, `agent` for the AI agent's route.
    /// - Throws: `not_found` for an unknown tenant (nothing is written).
    public func optOut(_ request: OptOutRequest, actor: String) async throws -> OptOutResult {
        let tenant = request.tenantID, number = request.destination, source = request.source
        let result = try await transaction { connection, logger in
            guard try await Self.tenantExists(try await connection.query(Self.tenantExistsStatement(tenant), logger: logger)) else {
                throw Self.unknownTenant(tenant)
            }
            let added = try await connection.query(Self.addDNCStatement(number, to: .tenant(tenant), source: source), logger: logger)
                .collect().count == 1
            let scope = CancelScope(tenant: tenant, destination: number.e164)
            let detail = JSONValue.object(["reason": "opted_out", "source": .string(source)])
            var cancel = CancelResult()
            while true {
                let count = try await Self.cancelled(try await connection.query(Self.cancelBatch(scope, by: actor, detail: detail), logger: logger))
                cancel.cancelled += count
                if count == 0 { break }
            }
            try await Self.tally(try await connection.query(Self.cancelTally(scope), logger: logger), into: &cancel, dryRun: false)
            var auditScope: [String: JSONValue] = [
                "destination": .string(number.e164), "already_listed": .bool(!added), "in_flight": .number(Double(cancel.inFlight)),
            ]
            if let sid = request.callSID { auditScope["call_sid"] = .string(sid) }
            var auditID: Int64 = 0
            for try await id in try await connection.query("""
                INSERT INTO audit_log (actor, action, tenant_id, scope, affected, source)
                VALUES (\(actor), 'opt_out', \(tenant), \(JSONValue.object(auditScope).jsonText)::jsonb, \(cancel.cancelled), \(source))
                RETURNING id
                """, logger: logger).decode(Int64.self)
            {
                auditID = id
            }
            return OptOutResult(tenantID: tenant, destination: number, source: source, addedToDNC: added, cancelled: cancel.cancelled,
                                inFlight: cancel.inFlight, auditID: auditID)
        }
        logger.notice("opted out", metadata: [
            "tenant": "\(tenant)", "to": "\(number.masked)", "cancelled": "\(result.cancelled)", "in_flight": "\(result.inFlight)",
            "already_listed": "\(!result.addedToDNC)", "by": "\(actor)",
        ])
        return result
    }

    /// The `audit_log` rows of a tenant, newest first (the operator console's reading; tests).
    public func auditLog(tenant: String, limit: Int = 100) async throws -> [AuditEntry] {
        let rows = try await client.query("""
            SELECT id, at, actor, action, tenant_id, campaign_id, scope::text, affected, source
            FROM audit_log WHERE tenant_id = \(tenant) ORDER BY at DESC, id DESC LIMIT \(limit)
            """, logger: logger)
        var entries: [AuditEntry] = []
        for try await row in rows {
            let r = row.makeRandomAccess()
            entries.append(AuditEntry(
                id: try r[0].decode(Int64.self), at: try r[1].decode(Date.self), actor: try r[2].decode(String.self),
                action: try r[3].decode(String.self), tenantID: try r[4].decode(String?.self), campaignID: try r[5].decode(String?.self),
                scope: JSONValue.parse(try r[6].decode(String.self)) ?? .object([:]), affected: try r[7].decode(Int.self),
                source: try r[8].decode(String?.self)))
        }
        return entries
    }
}

/// One row of `audit_log`.
public struct AuditEntry: Sendable, Hashable {
    public let id: Int64
    public let at: Date
    public let actor: String
    public let action: String
    public let tenantID: String?
    public let campaignID: String?
    public let scope: JSONValue
    public let affected: Int
    public let source: String?
}
