import Foundation
import Logging
import PostgresNIO

/// Which jobs an operator command acts on.
public enum JobSelection: Sendable, Hashable {
    case jobs([Int64])
    /// A tenant's jobs, or one campaign's (`campaign` set). A campaign id alone (no tenant) matches it in every tenant.
    case scope(tenant: String?, campaign: String?)
}

/// What the operator controls share: batches, the wake-up, the tenant check, the selection of jobs. Each control has its
/// own file: `JobStore+Pause.swift`, `+Cancel.swift`, `+Retry.swift`, `+Prune.swift`, `+OptOut.swift`.
extension JobStore {
    /// Rows per statement for the operator commands that touch many jobs: each batch is its own short transaction,
    /// so a large campaign never holds thousands of row locks against the claim for long.
    static let operatorBatch = 5_000

    func wakeWorkers() async throws {
        try await client.query("SELECT pg_notify(\(Self.readyChannel), '')", logger: logger)
    }

    /// Throws `not_found` unless the tenant exists.
    public func requireTenant(_ tenant: String) async throws {
        guard try await Self.tenantExists(try await client.query(Self.tenantExistsStatement(tenant), logger: logger)) else {
            throw Self.unknownTenant(tenant)
        }
    }

    /// One row: whether the tenant exists. Run on the client, or on a transaction's connection.
    static func tenantExistsStatement(_ tenant: String) -> PostgresQuery { "SELECT EXISTS (SELECT 1 FROM tenants WHERE id = \(tenant))" }

    static func tenantExists(_ rows: PostgresRowSequence) async throws -> Bool {
        for try await exists in rows.decode(Bool.self) where exists { return true }
        return false
    }

    /// `not_found` for a tenant that does not exist.
    static func unknownTenant(_ tenant: String) -> OpenPhnError {
        OpenPhnError(.notFound, "Tenant '\(tenant)' does not exist.", details: ["tenant_id": .string(tenant)])
    }

    static func parts(_ selection: JobSelection) -> (ids: [Int64]?, tenant: String, campaign: String) {
        switch selection {
        case .jobs(let ids): (ids, "", "")
        case .scope(let tenant, let campaign): (nil, tenant ?? "", campaign ?? "")
        }
    }
}
