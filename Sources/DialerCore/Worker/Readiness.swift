import Foundation

/// What `/readyz` checks, each probe afresh (with a short timeout, so a hung database makes the probe fail, not hang).
public struct Readiness: Sendable {
    let store: JobStore
    let stats: WorkerStats
    let metrics: DialerMetrics?
    /// This build's migrations, read from its resources once (not on every probe).
    let migrations: [Migration]?

    public init(store: JobStore, stats: WorkerStats, metrics: DialerMetrics? = nil) {
        self.store = store
        self.stats = stats
        self.metrics = metrics
        self.migrations = try? Migration.bundled()
    }

    /// The reasons the worker is not ready; empty when it is.
    public func check() async -> [String] {
        var reasons: [String] = []
        if stats.isStopping { reasons.append("shutting down") }
        if let migrations {
            do {
                let pending = try await withTimeout(.seconds(2), what: "database") { [store] in try await store.pendingMigrations(migrations) }
                if !pending.isEmpty { reasons.append("migrations pending: " + pending.map(\.name).joined(separator: ", ")) }
            } catch {
                reasons.append("database unreachable: \(error)")
            }
        } else {
            reasons.append("this build's migrations resource is missing")
        }
        metrics?.setReady(reasons.isEmpty)
        return reasons
    }
}
