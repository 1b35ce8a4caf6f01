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
/// own file: `JobStore+Pause.swift`, `+Cancel.swift`, `+Retry.swift`, `+Prune.swift`.
extension JobStore {
    /// Rows per statement for the operator commands that touch many jobs: each batch is its own short transaction,
    /// so a large campaign never holds thousands of row locks against the claim for long.
    static let operatorBatch = 5_000

    func wakeWorkers() async throws {
        try await client.query("SELECT pg_notify(\(Self.readyChannel), '')", logger: logger)
    }

    /// Throws `not_found` unless the tenant exists.
    public func requireTenant(_ tenant: String) async throws {
        let rows = try await client.query("SELECT EXISTS (SELECT 1 FROM tenants WHERE id = \(tenant))", logger: logger)
        for try await exists in rows.decode(Bool.self) where exists { return }
        throw OpenPhnError(.notFound, "Tenant '\(tenant)' does not exist.", details: ["tenant_id": .string(tenant)])
    }

    static func parts(_ selection: JobSelection) -> (ids: [Int64]?, tenant: String, campaign: String) {
        switch selection {
        case .jobs(let ids): (ids, "", "")
        case .scope(let tenant, let campaign): (nil, tenant ?? "", campaign ?? "")
        }
    }
}
