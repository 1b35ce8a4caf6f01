import Logging
import ServiceLifecycle

/// The small upkeep every `dialer run` and `dialer serve` shares: every `interval` (5 s), folds the campaign counters'
/// deltas into their totals (one process at a time, an advisory lock), and every hundredth pass deletes the `/v1` API's
/// stored idempotent answers older than 24 hours, the console sessions past their deadlines, activity minutes older than 7 days
/// and processes not seen for a day. A failed pass is logged and tried again next interval.
public struct HousekeepingService: Service, CustomStringConvertible {
    let store: JobStore
    let interval: Duration
    let logger: Logger

    public init(store: JobStore, interval: Duration = .seconds(5), logger: Logger) {
        self.store = store
        self.interval = interval
        self.logger = logger
    }

    public var description: String { "HousekeepingService(every: \(interval))" }

    public func run() async throws {
        var pass = 0
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do { try await sleep(for: interval) } catch { return }
            pass += 1
            do {
                try await store.foldCampaignCounts()
                if pass % 100 == 1 {
                    let pruned = try await store.pruneIdempotency()
                    if pruned > 0 { logger.info("housekeeping: deleted expired idempotent answers", metadata: ["rows": "\(pruned)"]) }
                    let ended = try await store.pruneConsoleSessions()
                    if ended > 0 { logger.info("housekeeping: deleted expired console sessions", metadata: ["rows": "\(ended)"]) }
                    let old = try await store.pruneActivity()
                    if old > 0 { logger.info("housekeeping: deleted old console activity", metadata: ["rows": "\(old)"]) }
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("housekeeping failed; trying again next interval", metadata: ["error": "\(String(reflecting: error))"])
            }
        }
    }
}
