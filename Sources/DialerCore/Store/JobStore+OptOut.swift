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
            try await Self.tally(try await connection.query(Self.cancelTally(scope), logger: logger), into: &cancel, dryRun: false, states: scope.states)
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
}
